/**
 * The agent configuration file (`versiond-agent --config FILE`): written by
 * `versiond agents add --controller-url …` on the controller's side, read by the agent. One
 * JSON object whose keys are the agent's long flags in camelCase; a flag given on the command
 * line wins over the file. JSON, not YAML, so the agent needs no parser beyond Node's.
 */
export interface AgentConfig {
  /** The controller as the agent reaches it: `https://versiond.example.com:8443`. */
  readonly controller?: string;
  readonly id?: string;
  /** Where the token file is on the agent's machine (mode 0600). */
  readonly tokenFile?: string;
  /** PEM CA certificate(s) to trust for the controller, inline: the file is then self-contained. */
  readonly ca?: string;
  /** …or a PEM file of them. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
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
  caFile: 'string',
  certFile: 'string',
  keyFile: 'string',
  controllerKey: 'string',
  stateDir: 'string',
  driver: 'string',
  listen: 'string',
  advertise: 'string',
  artifactMirror: 'string',
  logLevel: 'string',
};
