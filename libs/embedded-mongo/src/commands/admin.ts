/** The handshake and server commands: hello/isMaster, buildInfo, getParameter, serverStatus. */
import { Long, ObjectId, Timestamp } from 'bson';
import type { Document } from 'bson';
import { CommandError, ErrorCode } from '../errors';
import type { CommandContext, Handler } from './context';
import { MAX_WIRE_VERSION, SERVER_VERSION } from './context';

export function hello(ctx: CommandContext): Document {
  const me = `${ctx.server.host}:${ctx.server.port}`;
  const now = new Date();
  const ts = Timestamp.fromBits(0, Math.floor(now.getTime() / 1000));
  const reply: Document = {
    topologyVersion: { processId: ctx.store.processId, counter: Long.fromNumber(0) },
    hosts: [me],
    setName: ctx.server.setName,
    setVersion: 1,
    isWritablePrimary: true,
    secondary: false,
    primary: me,
    me,
    electionId: new ObjectId('7fffffff0000000000000001'),
    lastWrite: {
      opTime: { ts, t: Long.fromNumber(1) },
      lastWriteDate: now,
      majorityOpTime: { ts, t: Long.fromNumber(1) },
      majorityWriteDate: now,
    },
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: now,
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ok: 1,
  };
  if (ctx.cmd.helloOk === true) reply.helloOk = true;
  if (!('hello' in ctx.cmd)) {
    reply.ismaster = true;
    delete reply.isWritablePrimary;
  }
  return reply;
}

export const buildInfo: Handler = () => ({
  version: SERVER_VERSION,
  gitVersion: 'odtp-embedded',
  versionArray: [7, 0, 0, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16 * 1024 * 1024,
  storageEngines: ['odtp-embedded'],
  modules: [],
  javascriptEngine: 'none',
  ok: 1,
});

export const getParameter: Handler = (ctx) => {
  const reply: Document = {};
  const all =
    ctx.cmd.getParameter === '*' ||
    (typeof ctx.cmd.getParameter === 'object' && (ctx.cmd.getParameter as Document).allParameters);
  if (all || 'featureCompatibilityVersion' in ctx.cmd) reply.featureCompatibilityVersion = { version: '7.0' };
  if (Object.keys(reply).length === 0)
    throw new CommandError(ErrorCode.InvalidOptions, 'no option found to get');
  reply.ok = 1;
  return reply;
};

export function memoryStatus(): Document {
  const m = process.memoryUsage();
  const mb = (n: number): number => Math.round(n / 1024 / 1024);
  return {
    bits: 64,
    resident: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    heapTotalMB: mb(m.heapTotal),
    externalMB: mb(m.external),
  };
}

export const serverStatus: Handler = (ctx) => ({
  host: `${ctx.server.host}:${ctx.server.port}`,
  version: SERVER_VERSION,
  process: 'odtp-embedded-mongo',
  pid: Long.fromNumber(process.pid),
  uptime: Math.floor((Date.now() - ctx.server.startedAt.getTime()) / 1000),
  localTime: new Date(),
  connections: { current: 0 },
  mem: memoryStatus(),
  ok: 1,
});
