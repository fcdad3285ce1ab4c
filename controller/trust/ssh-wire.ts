/**
 * The SSH wire encoding (RFC 4251 §5) that SSH public keys and SSHSIG signatures are made of:
 * big-endian uint32 lengths before byte strings. Only the reading side: versiond verifies
 * signatures, it never makes them with a person's key.
 */
export class SshWireError extends Error {}

export class SshReader {
  private offset = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}

  get done(): boolean {
    return this.offset === this.buf.length;
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.offset + n > this.buf.length) throw new SshWireError(`${this.what} is truncated`);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  string(): Buffer {
    return this.bytes(this.uint32());
  }

  text(): string {
    return this.string().toString('utf8');
  }

  /** An mpint as unsigned big-endian bytes, leading zeros removed (for JWK). */
  mpint(): Buffer {
    const raw = this.string();
    let i = 0;
    while (i < raw.length - 1 && raw[i] === 0) i++;
    return raw.subarray(i);
  }

  end(): void {
    if (!this.done) throw new SshWireError(`${this.what} has ${this.buf.length - this.offset} trailing bytes`);
  }
}

export function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}
