const CHUNK = 16 * 1024 * 1024;

/**
 * Documents as BSON bytes in large append-only chunks, found through a Map from `_id` key to a numeric
 * position: one heap object per document (its key) instead of a key and a byte view, which keeps memory
 * near the data size and garbage collection short. Replaced and deleted bytes are reclaimed by
 * compaction once they outweigh the live ones. Views handed out stay valid (chunks are never overwritten).
 * Iteration follows insertion order, as a Map does.
 */
export class DocStore {
  private readonly positions = new Map<string, number>();
  private chunks: Buffer[] = [];
  private used = 0;
  private liveBytes = 0;
  private deadBytes = 0;

  get size(): number {
    return this.positions.size;
  }

  has(key: string): boolean {
    return this.positions.has(key);
  }

  get(key: string): Uint8Array | undefined {
    const pos = this.positions.get(key);
    return pos === undefined ? undefined : this.view(pos);
  }

  set(key: string, bytes: Uint8Array): this {
    const old = this.positions.get(key);
    if (old !== undefined) this.forget(old);
    this.positions.set(key, this.append(bytes));
    this.liveBytes += bytes.length;
    this.maybeCompact();
    return this;
  }

  delete(key: string): boolean {
    const pos = this.positions.get(key);
    if (pos === undefined) return false;
    this.forget(pos);
    this.positions.delete(key);
    this.maybeCompact();
    return true;
  }

  *values(): IterableIterator<Uint8Array> {
    for (const pos of this.positions.values()) yield this.view(pos);
  }

  *entries(): IterableIterator<[string, Uint8Array]> {
    for (const [key, pos] of this.positions) yield [key, this.view(pos)];
  }

  [Symbol.iterator](): IterableIterator<[string, Uint8Array]> {
    return this.entries();
  }

  /** Bytes reserved for documents, live and not yet reclaimed. */
  get reservedBytes(): number {
    return this.chunks.length * CHUNK;
  }

  private view(pos: number): Uint8Array {
    const chunk = this.chunks[Math.floor(pos / CHUNK)];
    const offset = pos % CHUNK;
    return chunk.subarray(offset, offset + chunk.readInt32LE(offset));
  }

  private forget(pos: number): void {
    const chunk = this.chunks[Math.floor(pos / CHUNK)];
    const len = chunk.readInt32LE(pos % CHUNK);
    this.liveBytes -= len;
    this.deadBytes += len;
  }

  private append(bytes: Uint8Array): number {
    if (bytes.length > CHUNK)
      throw new RangeError(`document of ${bytes.length} bytes exceeds the chunk size`);
    let index = this.chunks.length - 1;
    if (index < 0 || this.used + bytes.length > CHUNK) {
      this.chunks.push(Buffer.allocUnsafe(CHUNK));
      index = this.chunks.length - 1;
      this.used = 0;
    }
    const offset = this.used;
    this.chunks[index].set(bytes, offset);
    this.used += bytes.length;
    return index * CHUNK + offset;
  }

  private maybeCompact(): void {
    if (this.deadBytes < 64 * 1024 * 1024 || this.deadBytes < this.liveBytes) return;
    const old = [...this.positions];
    const views = old.map(([key, pos]) => [key, this.view(pos)] as const);
    this.chunks = [];
    this.used = 0;
    this.deadBytes = 0;
    for (const [key, bytes] of views) this.positions.set(key, this.append(bytes));
  }
}
