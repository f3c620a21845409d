import * as net from 'node:net';
import { deserialize } from 'bson';
import { toNumber } from './bson-order';
import type { Document } from 'bson';
import { runCommand, SERVER_VERSION } from './commands';
import type { ServerInfo } from './commands';
import { awaitsData, CursorRegistry } from './cursors';
import { CommandError, ErrorCode } from './errors';
import { FailPoints } from './fail-points';
import { FileJournal } from './persistence';
import { Store } from './store';
import { encodeReply, parseMessage, readHeader, serializeReply } from './wire';

function isAwaitableHello(cmd: Document): boolean {
  const name = Object.keys(cmd)[0];
  return (
    (name === 'hello' || name === 'isMaster' || name === 'ismaster') &&
    cmd.topologyVersion !== undefined &&
    cmd.maxAwaitTimeMS !== undefined
  );
}

export interface EmbeddedMongoOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Folder to persist to; omitted or empty keeps everything in memory. */
  dbPath?: string;
  /** Replica set name presented in `hello`. */
  replSetName?: string;
  /** Connections beyond this are closed at once (mongod's net.maxIncomingConnections); default 1024. */
  maxConnections?: number;
  /** A connection without traffic for this long is closed; 0 keeps idle connections. Default 30 minutes. */
  idleTimeoutMs?: number;
  /** Bytes of incomplete messages held over all connections (default 256 MiB); past it a connection is closed. */
  maxBufferedBytes?: number;
  /**
   * Bytes of change history kept for change streams to read and resume from (mongod's oplog size); the oldest
   * changes go first. Default 64 MiB.
   */
  changeLogBytes?: number;
  /** How often TTL indexes are applied (mongod's TTL monitor runs every 60 s, the default). */
  ttlMonitorIntervalMs?: number;
  /**
   * Test commands (mongod's `enableTestCommands`): `configureFailPoint` with the `failCommand` fail point. Off by
   * default: configureFailPoint is then CommandNotFound, as on a production mongod.
   */
  enableTestCommands?: boolean;
}

const MAX_MESSAGE = 48_000_000;
/** Commands a client may send as legacy OP_QUERY: the handshake. */
const LEGACY_HANDSHAKE = new Set(['hello', 'isMaster', 'ismaster']);
/** Bytes of incomplete messages held over all connections, by default (a message is at most 48 MB). */
const DEFAULT_MAX_BUFFERED = 256 * 1024 * 1024;

/**
 * The bytes every connection holds for messages not yet complete, shared by the connections of a server: a
 * connection that would take it past its maximum is closed, so clients that declare large messages and send them
 * slowly cannot hold the server's memory.
 */
export class BufferBudget {
  used = 0;
  constructor(readonly max: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.max) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/**
 * Assembles the messages of one connection from its chunks. Chunks are kept as a list and joined once per
 * complete message, so a large message costs one copy, not one per chunk received.
 */
export class MessageReader {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly budget = new BufferBudget(Number.POSITIVE_INFINITY)) {}

  /**
   * Add a chunk; every complete message goes to `onMessage`. False: an impossible length, or more buffered bytes
   * than the budget allows: close the connection.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): boolean {
    if (!this.budget.take(chunk.length)) return false;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size >= 4) {
      const length = this.peekLength();
      if (length < 16 || length > MAX_MESSAGE) return false;
      if (this.size < length) return true;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
      const rest = all.subarray(length);
      this.chunks = rest.length ? [rest] : [];
      this.size = rest.length;
      this.budget.give(length);
      onMessage(all.subarray(0, length));
    }
    return true;
  }

  /** Give back what the connection still holds (it closed). */
  release(): void {
    this.budget.give(this.size);
    this.chunks = [];
    this.size = 0;
  }

  private peekLength(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readInt32LE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.size, 4));
    return head.readInt32LE(0);
  }
}
const HOST = '127.0.0.1';

/** One client connection: its id, the client's appName (from its hello), and what waits behind a blocked command. */
interface Connection {
  id: number;
  appName?: string;
  blocked: boolean;
  /** The fail point's wait of a blocked command (cleared when its connection closes). */
  blockTimer?: NodeJS.Timeout;
  queue: Buffer[];
}

/**
 * An in-process server speaking the MongoDB wire protocol (MongoDB 7.0 semantics) for offline
 * development and tests. Mirrors mongodb-memory-server: `create()`, `getUri()`, `stop()`.
 */
export class EmbeddedMongo {
  readonly store: Store;
  private readonly cursors = new CursorRegistry();
  private readonly sockets = new Set<net.Socket>();
  private journal?: FileJournal;
  private server?: net.Server;
  private info?: ServerInfo;
  private nextConnectionId = 1;
  private stopped = false;
  private ttlTimer?: NodeJS.Timeout;
  private readonly failPoints = new FailPoints();
  /** Connections refused because the limit was reached (for tests and diagnostics). */
  refusedConnections = 0;
  /** Bytes held for incomplete messages, over all connections. */
  readonly buffered: BufferBudget;

  private constructor(private readonly options: EmbeddedMongoOptions) {
    this.store = new Store({ changeLogBytes: options.changeLogBytes });
    this.buffered = new BufferBudget(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED);
  }

  static async create(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
    const instance = new EmbeddedMongo(options);
    await instance.start();
    return instance;
  }

  get port(): number {
    if (!this.info) throw new Error('embedded server is not running');
    return this.info.port;
  }

  get dbPath(): string | undefined {
    return this.options.dbPath || undefined;
  }

  /** `mongodb://127.0.0.1:<port>/` (plus `dbName` when given). */
  getUri(dbName = ''): string {
    return `mongodb://${HOST}:${this.port}/${dbName}`;
  }

  private async start(): Promise<void> {
    if (this.options.dbPath) this.journal = FileJournal.open(this.options.dbPath, this.store);
    const server = net.createServer((socket) => this.onConnection(socket));
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.port ?? 0, HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      this.journal?.close();
      throw e;
    }
    const address = server.address() as net.AddressInfo;
    this.ttlTimer = setInterval(() => this.expireTtl(), this.options.ttlMonitorIntervalMs ?? 60_000);
    this.ttlTimer.unref();
    this.info = {
      host: HOST,
      port: address.port,
      setName: this.options.replSetName ?? 'rs0',
      startedAt: new Date(),
      version: SERVER_VERSION,
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ttlTimer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.cursors.close();
    this.journal?.close();
  }

  /** Run a command directly (no socket), as the wire handler does; cursor batches come back decoded. */
  command(dbName: string, cmd: Document, connectionId = 0): Document {
    return deserialize(serializeReply(this.execute(dbName, cmd, connectionId)));
  }

  private execute(dbName: string, cmd: Document, connectionId: number): Document {
    if (!this.info) throw new Error('embedded server is not running');
    const reply = runCommand({
      store: this.store,
      cursors: this.cursors,
      server: this.info,
      connectionId,
      dbName,
      cmd,
    });
    const wc = cmd.writeConcern as Document | undefined;
    this.journal?.flush(wc?.j === true || wc?.w === 'majority');
    return reply;
  }

  /**
   * Delete what TTL indexes have expired, as mongod's TTL monitor does: documents whose indexed field is a date
   * (or an array holding one) older than expireAfterSeconds; other values never expire.
   */
  expireTtl(now = Date.now()): void {
    if (!this.info) return;
    for (const [dbName, db] of this.store.dbs)
      for (const [name, coll] of db.collections)
        for (const spec of coll.indexSpecs()) {
          const fields = Object.keys(spec.key);
          if (typeof spec.expireAfterSeconds !== 'number' || fields.length !== 1) continue;
          const cutoff = new Date(now - spec.expireAfterSeconds * 1000);
          this.execute(
            dbName,
            { delete: name, deletes: [{ q: { [fields[0]]: { $lt: cutoff } }, limit: 0 }] },
            0,
          );
        }
  }

  private onConnection(socket: net.Socket): void {
    if (this.sockets.size >= (this.options.maxConnections ?? 1024)) {
      this.refusedConnections++;
      socket.destroy();
      return;
    }
    const conn: Connection = { id: this.nextConnectionId++, blocked: false, queue: [] };
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const idle = this.options.idleTimeoutMs ?? 1_800_000;
    if (idle > 0) socket.setTimeout(idle, () => socket.destroy());
    const reader = new MessageReader(this.buffered);
    socket.on('data', (chunk: Buffer) => {
      if (socket.destroyed) return;
      if (!reader.push(chunk, (message) => this.handle(socket, message, conn))) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      reader.release();
      this.sockets.delete(socket);
      // a command a fail point blocks has nobody to answer any more
      clearTimeout(conn.blockTimer);
    });
  }

  /**
   * One message: a malformed one closes its own connection only; nothing it holds reaches the others. Messages of
   * a connection are answered in order: while a fail point blocks one, the next ones wait behind it.
   */
  private handle(socket: net.Socket, message: Buffer, conn: Connection): void {
    if (socket.destroyed) return;
    if (conn.blocked) {
      conn.queue.push(message);
      return;
    }
    try {
      this.reply(socket, message, conn);
    } catch {
      socket.destroy();
    }
  }

  private reply(socket: net.Socket, message: Buffer, conn: Connection): void {
    const parsed = parseMessage(message);
    const dbName = typeof parsed.command.$db === 'string' ? parsed.command.$db : 'admin';
    const requestId = readHeader(message).requestId;
    const name = Object.keys(parsed.command)[0] ?? '';
    const appName = (parsed.command.client as Document | undefined)?.application?.name as unknown;
    if (typeof appName === 'string') conn.appName = appName;
    if (isAwaitableHello(parsed.command)) {
      this.awaitHello(socket, requestId, dbName, parsed.command, conn.id, parsed.exhaustAllowed);
      return;
    }
    const send = (reply: Document): void => {
      if (!parsed.moreToCome) socket.write(encodeReply(requestId, reply, parsed.legacy));
    };
    if (parsed.legacy && !LEGACY_HANDSHAKE.has(name)) {
      // mongod 6.0+ takes OP_QUERY for the connection handshake only
      send(
        new CommandError(
          ErrorCode.UnsupportedOpQueryCommand,
          `Unsupported OP_QUERY command: ${name.slice(0, 64)}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`,
        ).toReply(),
      );
      return;
    }
    if (name === 'configureFailPoint' && this.options.enableTestCommands) {
      send(this.configureFailPoint(parsed.command));
      return;
    }
    const action = this.failPoints.take(name, conn.appName);
    if (!action) {
      const reply = this.execute(dbName, parsed.command, conn.id);
      if (awaitsData(reply)) this.awaitData(socket, conn, dbName, parsed.command, send);
      else send(reply);
      return;
    }
    const act = (): void => {
      if (action.closeConnection) socket.destroy();
      else if (action.error) send(action.error);
      else {
        const reply = this.execute(dbName, parsed.command, conn.id);
        send(action.writeConcernError ? { ...reply, writeConcernError: action.writeConcernError } : reply);
      }
    };
    if (action.blockMs <= 0) return act();
    conn.blocked = true;
    conn.blockTimer = setTimeout(() => {
      conn.blocked = false;
      conn.blockTimer = undefined;
      if (socket.destroyed) return;
      act();
      for (const queued of conn.queue.splice(0)) this.handle(socket, queued, conn);
    }, action.blockMs);
  }

  /**
   * A getMore of an awaitData cursor (a change stream) that found nothing waits, as on mongod, until a change
   * comes or its `maxTimeMS` (default 1 s) passes, then answers; the connection's next messages wait behind it.
   */
  private awaitData(
    socket: net.Socket,
    conn: Connection,
    dbName: string,
    cmd: Document,
    send: (reply: Document) => void,
  ): void {
    const requested = Number(toNumber(cmd.maxTimeMS ?? 0));
    const wait = Number.isFinite(requested) && requested > 0 ? Math.min(requested, 600_000) : 1000;
    conn.blocked = true;
    let settled = false;
    let scheduled = false;
    const settle = (): void => {
      settled = true;
      unlisten();
      clearTimeout(timer);
      socket.off('close', settle);
      conn.blocked = false;
    };
    const attempt = (last: boolean): void => {
      scheduled = false;
      if (settled) return;
      if (socket.destroyed || this.stopped) return settle();
      const reply = this.execute(dbName, cmd, conn.id);
      if (awaitsData(reply) && !last) return;
      settle();
      send(reply);
      for (const queued of conn.queue.splice(0)) this.handle(socket, queued, conn);
    };
    // told inside the writing command: look once it has answered
    const unlisten = this.store.changes.listen(() => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => attempt(false));
    });
    const timer = setTimeout(() => attempt(true), wait);
    socket.once('close', settle);
  }

  private configureFailPoint(cmd: Document): Document {
    try {
      return this.failPoints.configure(cmd);
    } catch (e) {
      if (e instanceof CommandError) return e.toReply();
      throw e;
    }
  }

  /**
   * Awaitable hello (the driver's streaming server monitor): the topology of this server never changes,
   * so answer after maxAwaitTimeMS, and with exhaustAllowed keep streaming a reply (moreToCome) every
   * maxAwaitTimeMS until the connection closes.
   */
  private awaitHello(
    socket: net.Socket,
    requestId: number,
    dbName: string,
    cmd: Document,
    connectionId: number,
    stream: boolean,
  ): void {
    const wait = Math.min(Math.max(Number(cmd.maxAwaitTimeMS) || 0, 0), 60_000);
    const timer = setInterval(() => {
      if (socket.destroyed || this.stopped) {
        clearInterval(timer);
        return;
      }
      socket.write(encodeReply(requestId, this.execute(dbName, cmd, connectionId), false, stream));
      if (!stream) clearInterval(timer);
    }, wait);
    socket.once('close', () => clearInterval(timer));
  }
}
