import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A certificate authority made with the real `openssl` CLI, as an admin would (README,
 * "Deploying across a network"), issuing server and agent certificates — expired ones too,
 * via `openssl ca -startdate/-enddate`.
 */
export class TestCa {
  readonly dir: string;
  readonly certPath: string;
  private serial = 1;

  private constructor(dir: string, readonly name: string) {
    this.dir = dir;
    this.certPath = join(dir, 'ca.crt');
  }

  static create(name = 'versiond test CA'): TestCa {
    const ca = new TestCa(mkdtempSync(join(tmpdir(), 'versiond-ca-')), name);
    ca.openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(ca.dir, 'ca.key'), '-out', ca.certPath, '-days', '3650', '-subj', `/CN=${name}`);
    writeFileSync(join(ca.dir, 'index.txt'), '');
    writeFileSync(join(ca.dir, 'ca.cnf'), [
      '[ca]', 'default_ca = test', '[test]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial',
      'default_md = sha256', 'policy = any', 'copy_extensions = none', 'unique_subject = no',
      '[any]', 'commonName = supplied',
    ].join('\n'));
    return ca;
  }

  get pem(): string {
    return readFileSync(this.certPath, 'utf8');
  }

  /**
   * A key and certificate for `cn`, with SANs (`DNS:localhost`, `IP:127.0.0.1`, `URI:…`);
   * `expired` makes one valid only in 2020; `client` makes a client certificate, `client` and
   * `server` one for both (an agent's, also served by its push endpoint). Returns the file paths.
   */
  issue(name: string, cn: string,
    options: { san?: readonly string[]; expired?: boolean; client?: boolean; server?: boolean } = {}) {
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}.crt`);
    const ext = join(this.dir, `${name}.ext`);
    this.openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
      '-out', csr, '-subj', `/CN=${cn}`);
    const usage = [...(options.client ? ['clientAuth'] : []), ...(!options.client || options.server ? ['serverAuth'] : [])];
    const lines = [`extendedKeyUsage = ${usage.join(',')}`];
    if (options.san && options.san.length > 0) lines.push(`subjectAltName = ${options.san.join(',')}`);
    writeFileSync(ext, `[ext]\n${lines.join('\n')}\n`);
    writeFileSync(join(this.dir, 'serial'), `${(this.serial++).toString(16).padStart(2, '0')}\n`);
    const dates = options.expired
      ? ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']
      : ['-days', '30'];
    this.openssl('ca', '-batch', '-config', join(this.dir, 'ca.cnf'), '-cert', this.certPath,
      '-keyfile', join(this.dir, 'ca.key'), '-in', csr, '-out', cert, ...dates, '-extfile', ext, '-extensions', 'ext',
      '-notext');
    return { key, cert };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
