/** Sessions and transactions: endSessions, commitTransaction, abortTransaction, and the transaction a command runs in. */
import type { Document } from 'bson';
import { keyOf, toNumber } from '../bson-order';
import { CommandError, ErrorCode } from '../errors';
import type { Transaction } from '../store';
import type { CommandContext, Handler } from './context';
import { sessionKey } from './context';

export const endSessions: Handler = (ctx) => {
  const ids = (ctx.cmd.endSessions as Document[] | undefined) ?? [];
  for (const s of ids) {
    if (!s?.id) continue;
    ctx.cursors.killSession(keyOf(s.id));
    ctx.store.sessions.end(keyOf(s.id));
    ctx.store.endSession(keyOf(s.id));
  }
  return { ok: 1 };
};

/** The session's open transaction that commitTransaction/abortTransaction name (admin database only). */
function namedTransaction(
  ctx: CommandContext,
  command: string,
): { owner: string; txn: Transaction; txnNumber: number } {
  if (ctx.dbName !== 'admin')
    throw new CommandError(ErrorCode.Unauthorized, `${command} may only be run against the admin database.`);
  const owner = sessionKey(ctx);
  const txn = owner ? ctx.store.transactions.get(owner) : undefined;
  const txnNumber = toNumber(ctx.cmd.txnNumber);
  if (!owner || !txn || txn.txnNumber !== txnNumber) throw noSuchTransaction(txnNumber);
  return { owner, txn, txnNumber };
}

export const commitTransaction: Handler = (ctx) => {
  const { owner, txn, txnNumber } = namedTransaction(ctx, 'commitTransaction');
  if (txn.state === 'aborted') throw noSuchTransaction(txnNumber, txn.abortReason);
  ctx.store.commitTransaction(owner);
  return { ok: 1 };
};

export const abortTransaction: Handler = (ctx) => {
  const { owner, txn, txnNumber } = namedTransaction(ctx, 'abortTransaction');
  if (txn.state === 'committed')
    throw new CommandError(
      ErrorCode.TransactionCommitted,
      `Transaction with { txnNumber: ${txnNumber} } has been committed.`,
    );
  if (txn.state === 'aborted') throw noSuchTransaction(txnNumber, txn.abortReason);
  ctx.store.abortTransaction(owner, 'abortTransaction');
  return { ok: 1 };
};

export function noSuchTransaction(txnNumber: number, reason?: string): CommandError {
  const message = reason
    ? `Transaction with { txnNumber: ${txnNumber} } has been aborted (${reason}).`
    : `Given transaction number ${txnNumber} does not match any in-progress transactions.`;
  return new CommandError(ErrorCode.NoSuchTransaction, message, {}, ['TransientTransactionError']);
}

export const TRANSACTION_COMMANDS = new Set([
  'find',
  'getMore',
  'killCursors',
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'aggregate',
  'distinct',
  'create',
  'createIndexes',
  'commitTransaction',
  'abortTransaction',
  'listCollections',
  'listIndexes',
]);

/** The transaction a command belongs to (starting it when `startTransaction` is set), or undefined. */
export function resolveTransaction(ctx: CommandContext, name: string): Transaction | undefined {
  if (ctx.cmd.autocommit !== false) return undefined;
  const owner = sessionKey(ctx);
  if (!owner)
    throw new CommandError(ErrorCode.InvalidOptions, "'autocommit' field requires a logical session id");
  if (ctx.cmd.txnNumber === undefined)
    throw new CommandError(
      ErrorCode.InvalidOptions,
      "'autocommit' field requires a transaction number to also be specified",
    );
  const txnNumber = toNumber(ctx.cmd.txnNumber);
  if (!TRANSACTION_COMMANDS.has(name)) {
    throw new CommandError(
      ErrorCode.OperationNotSupportedInTransaction,
      `Cannot run '${name}' in a multi-document transaction.`,
    );
  }
  if (name === 'commitTransaction' || name === 'abortTransaction') return undefined;
  if (ctx.cmd.startTransaction === true) return ctx.store.begin(owner, txnNumber);
  const txn = ctx.store.transactions.get(owner);
  if (!txn || txn.txnNumber !== txnNumber) throw noSuchTransaction(txnNumber);
  if (txn.state === 'aborted') throw noSuchTransaction(txnNumber, txn.abortReason);
  if (txn.state === 'committed')
    throw new CommandError(
      ErrorCode.TransactionCommitted,
      `Transaction with { txnNumber: ${txnNumber} } has been committed.`,
    );
  return txn;
}
