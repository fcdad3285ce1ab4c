/**
 * The agent configuration file (`versiond-agent --config FILE`): written by
 * `versiond agents add --controller-url …` on the controller's side, read by the agent. One
 * JSON object whose keys are the agent's long flags in camelCase (`--token-file` is
 * `tokenFile`), plus `caPem`, the CA inline; a flag given on the command line wins over the
 * file. JSON, not YAML, so the agent needs no parser beyond Node's.
 */
export interface AgentConfig {
  /** The controller as the agent reaches it: `https://versiond.example.com:8443`. */
  readonly controller?: string;
  readonly id?: string;
  /** Where the token file is on the agent's machine (mode 0600). */
  readonly tokenFile?: string;
  /** A PEM file of CA certificates to trust for the controller (`--ca`). */
  readonly ca?: string;
  /** …or the certificates inline, as `agents add --ca` writes them: the file is then self-contained. */
  readonly caPem?: string;
  /** The agent's client certificate and key, PEM files (`--cert`, `--key`). */
  readonly cert?: string;
  readonly key?: string;
  /** The controller's Ed25519 public key (base64), for agents that accept pushed commands. */
  readonly controllerKey?: string;
  readonly stateDir?: string;
  /** `hooks:DIR` or `simulated[:FILE]`. */
  readonly driver?: string;
  readonly listen?: string;
  readonly advertise?: string;
  readonly artifactMirror?: string;
  readonly logLevel?: string;
}

/** Every key the file may hold, with its type: anything else is refused, naming the key. */
export const AGENT_CONFIG_KEYS: Readonly<Record<keyof AgentConfig, 'string'>> = {
  controller: 'string',
  id: 'string',
  tokenFile: 'string',
  ca: 'string',
  caPem: 'string',
  cert: 'string',
  key: 'string',
  controllerKey: 'string',
  stateDir: 'string',
  driver: 'string',
  listen: 'string',
  advertise: 'string',
  artifactMirror: 'string',
  logLevel: 'string',
};
