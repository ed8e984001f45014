import { Transform, type TransformCallback } from 'node:stream';

/** Passes a stream through untouched while keeping a copy of its first `limit` bytes for sniffing. */
export class HeadCapture extends Transform {
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.kept < this.limit) {
      const slice = chunk.subarray(0, this.limit - this.kept);
      this.chunks.push(Buffer.from(slice));
      this.kept += slice.length;
    }
    done(null, chunk);
  }

  get head(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
