/** The command table of the embedded server, assembled from one module per command family, and its dispatcher. */
import { UUID } from 'bson';
import type { Document } from 'bson';
import { withDiskUse } from '../budget';
import { TimeLimit, withTimeLimit } from '../cursors';
import { CommandError, ErrorCode } from '../errors';
import { idKeyOf } from '../collection';
import type { Transaction } from '../store';
import type { CommandContext, Handler } from './context';
import { GENERIC_FIELDS } from './context';
import { bindLet } from './let';
import { aggregate } from './aggregate';
import { count, distinct, explain, find, getMore, killCursors } from './read';
import { del, findAndModify, insert, update } from './crud';
import {
  collMod,
  collStats,
  create,
  createIndexes,
  dbStats,
  drop,
  dropDatabase,
  dropIndexes,
  listCollections,
  listDatabases,
  listIndexes,
  renameCollection,
} from './ddl';
import { buildInfo, getParameter, hello, serverStatus } from './admin';
import { abortTransaction, commitTransaction, endSessions, resolveTransaction } from './sessions';

export const HANDLERS: Record<string, Handler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: () => ({ ok: 1 }),
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  serverStatus,
  hostInfo: () => ({ system: { hostname: 'localhost', numCores: 1 }, os: { type: process.platform }, ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  whatsmyuri: (ctx) => ({ you: `${ctx.server.host}:0`, ok: 1 }),
  getCmdLineOpts: () => ({ argv: ['odtp-embedded-mongo'], parsed: {}, ok: 1 }),
  getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
  listDatabases,
  dropDatabase,
  create,
  collMod,
  listCollections,
  drop,
  renameCollection,
  insert,
  update,
  delete: del,
  find,
  getMore,
  killCursors,
  count,
  distinct,
  aggregate,
  findAndModify,
  findandmodify: findAndModify,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  collStats,
  dbStats,
  explain,
  endSessions,
  killAllSessions: () => ({ ok: 1 }),
  commitTransaction,
  abortTransaction,
  killAllSessionsByPattern: () => ({ ok: 1 }),
  startSession: () => ({ id: { id: new UUID() }, timeoutMinutes: 30, ok: 1 }),
  refreshSessions: () => ({ ok: 1 }),
  saslStart: () => ({ ok: 1, done: true, conversationId: 1, payload: Buffer.alloc(0) }),
  logout: () => ({ ok: 1 }),
};

const NAME_INDEX = new Map(Object.keys(HANDLERS).map((k) => [k.toLowerCase(), k]));

/** Run one command document and return the reply (errors become `ok: 0` replies). */
export function runCommand(ctx: Omit<CommandContext, 'cmd'> & { cmd: Document }): Document {
  const name = Object.keys(ctx.cmd)[0];
  // own entries only: a command named after a member of Object.prototype (constructor, toString) is unknown
  const handlerName = name && (Object.hasOwn(HANDLERS, name) ? name : NAME_INDEX.get(name.toLowerCase()));
  const handler = handlerName && Object.hasOwn(HANDLERS, handlerName) ? HANDLERS[handlerName] : undefined;
  if (!handler) {
    return new CommandError(ErrorCode.CommandNotFound, `no such command: '${name}'`).toReply();
  }
  let txn: Transaction | undefined;
  const lsid = ctx.cmd.lsid as Document | undefined;
  if (lsid?.id !== undefined && handlerName !== 'endSessions') ctx.store.sessions.touch(lsid.id);
  try {
    txn = resolveTransaction(ctx, handlerName!);
    const run = { ...ctx, cmd: bindLet(ctx.cmd), txn };
    // getMore continues the time budget of the operation that opened the cursor (kept by the cursor).
    const limit = handlerName === 'getMore' ? undefined : TimeLimit.of(ctx.cmd);
    return ctx.store.within(txn, () =>
      withTimeLimit(limit, () => withDiskUse(ctx.cmd.allowDiskUse, () => handler(run))),
    );
  } catch (e) {
    if (e instanceof CommandError) {
      // mongod aborts a transaction whose operation fails with a write conflict.
      if (txn && e.code === ErrorCode.WriteConflict) ctx.store.abortTransaction(txn.owner, 'write conflict');
      return e.toReply();
    }
    const message = e instanceof Error ? e.message : String(e);
    return new CommandError(ErrorCode.InternalError, message).toReply();
  }
}

export { GENERIC_FIELDS, idKeyOf };
export { SERVER_VERSION } from './context';
export type { CommandContext, ServerInfo } from './context';
