import { Writable } from 'node:stream';
import type { LevelWithSilent } from 'pino';
import { createLogger, type Logger } from '../../controller/observability/logger.ts';

/** The controller's logger, its JSON lines kept in `lines` for a test to read instead of a terminal. */
export function controllerLoggerInto(lines: string[], level: LevelWithSilent = 'info'): Logger {
  return createLogger({
    level,
    pretty: false,
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  });
}
