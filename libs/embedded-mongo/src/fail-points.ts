import type { Document } from 'bson';
import { codeName, CommandError, ErrorCode } from './errors';

/**
 * mongod's `failCommand` fail point, for tests (enabled only with `enableTestCommands`, as mongod's
 * `--setParameter enableTestCommands=1`):
 *
 *   {configureFailPoint: 'failCommand', mode: 'alwaysOn' | 'off' | {times: n} | {skip: n},
 *    data: {failCommands: [...], errorCode?, errorLabels?, closeConnection?, blockConnection?, blockTimeMS?,
 *           appName?, writeConcernError?}}
 *
 * A command named in `failCommands` (from a connection whose client `appName` matches, when given) is then
 * blocked `blockTimeMS`, and answered with `errorCode` (plus `errorLabels`), or its connection closed without a
 * reply, or run with `writeConcernError` added to its reply. The reply of configureFailPoint is `{count, ok: 1}`
 * with `count` the times the fail point had been entered, as mongod answers.
 */
export interface FailCommandData {
  failCommands: string[];
  errorCode?: number;
  errorLabels?: string[];
  closeConnection?: boolean;
  blockConnection?: boolean;
  blockTimeMS?: number;
  appName?: string;
  writeConcernError?: Document;
}

type Mode =
  { kind: 'off' } | { kind: 'alwaysOn' } | { kind: 'times'; left: number } | { kind: 'skip'; left: number };

/** What to do with one command. */
export interface FailAction {
  closeConnection: boolean;
  blockMs: number;
  /** An error reply instead of running the command. */
  error?: Document;
  /** Added to the command's own reply. */
  writeConcernError?: Document;
}

const INTEGER = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function parseMode(mode: unknown): Mode {
  if (mode === 'off') return { kind: 'off' };
  if (mode === 'alwaysOn') return { kind: 'alwaysOn' };
  if (mode && typeof mode === 'object') {
    const m = mode as Document;
    if (INTEGER(m.times)) return m.times === 0 ? { kind: 'off' } : { kind: 'times', left: m.times };
    if (INTEGER(m.skip)) return { kind: 'skip', left: m.skip };
  }
  throw new CommandError(
    ErrorCode.BadValue,
    `mode must be 'alwaysOn', 'off', {times: <n>} or {skip: <n>} (got ${JSON.stringify(mode)})`,
  );
}

function parseData(data: unknown): FailCommandData {
  const d = (data ?? {}) as Document;
  if (!Array.isArray(d.failCommands) || !d.failCommands.every((c) => typeof c === 'string'))
    throw new CommandError(ErrorCode.BadValue, 'data.failCommands must be an array of command names');
  if (d.errorCode !== undefined && !Number.isInteger(d.errorCode))
    throw new CommandError(ErrorCode.BadValue, 'data.errorCode must be an integer');
  if (d.blockConnection && !INTEGER(d.blockTimeMS))
    throw new CommandError(
      ErrorCode.BadValue,
      'data.blockTimeMS must be a non-negative integer with blockConnection',
    );
  return d as FailCommandData;
}

export class FailPoints {
  private mode: Mode = { kind: 'off' };
  private data?: FailCommandData;
  /** Times the fail point was entered since it was last configured. */
  private entered = 0;

  /** The configureFailPoint command. */
  configure(cmd: Document): Document {
    const name = cmd.configureFailPoint as unknown;
    if (name !== 'failCommand')
      throw new CommandError(
        ErrorCode.BadValue,
        `unknown fail point "${String(name)}" (the embedded server has failCommand)`,
      );
    const mode = parseMode(cmd.mode);
    const data = mode.kind === 'off' ? this.data : parseData(cmd.data);
    const count = this.entered;
    this.mode = mode;
    this.data = data;
    this.entered = 0;
    return { count, ok: 1 };
  }

  /** The action for a command about to run, if the fail point takes it (and counts it). */
  take(command: string, appName: string | undefined): FailAction | undefined {
    const data = this.data;
    if (this.mode.kind === 'off' || !data || !data.failCommands.includes(command)) return undefined;
    if (data.appName !== undefined && data.appName !== appName) return undefined;
    if (this.mode.kind === 'skip') {
      if (this.mode.left > 0) {
        this.mode.left--;
        return undefined;
      }
    } else if (this.mode.kind === 'times') {
      if (--this.mode.left === 0) this.mode = { kind: 'off' };
    }
    this.entered++;
    return {
      closeConnection: data.closeConnection === true,
      blockMs: data.blockConnection ? (data.blockTimeMS ?? 0) : 0,
      error:
        data.errorCode !== undefined
          ? {
              ok: 0,
              errmsg: "Failing command via 'failCommand' failpoint",
              code: data.errorCode,
              ...(codeName(data.errorCode) !== 'UnknownError' ? { codeName: codeName(data.errorCode) } : {}),
              ...(data.errorLabels?.length ? { errorLabels: data.errorLabels } : {}),
            }
          : undefined,
      writeConcernError: data.writeConcernError,
    };
  }
}
