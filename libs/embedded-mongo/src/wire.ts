import { deserialize, Long, serialize } from 'bson';
import { element, rawArray, RawDocument, rawDocument } from './raw-bson';
import type { Document } from 'bson';

/** Opcodes of the MongoDB wire protocol. */
export const OpCode = { OP_REPLY: 1, OP_QUERY: 2004, OP_COMPRESSED: 2012, OP_MSG: 2013 } as const;

const MSG_CHECKSUM_PRESENT = 1;
export const MSG_MORE_TO_COME = 2;
const MSG_EXHAUST_ALLOWED = 1 << 16;
const HEADER_SIZE = 16;
const DESERIALIZE = { promoteLongs: true, promoteValues: true, bsonRegExp: false } as const;

export interface Header {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export interface ParsedMessage {
  header: Header;
  /** The command with kind-1 document sequences merged in as arrays. */
  command: Document;
  /** True for OP_QUERY (the reply must be OP_REPLY). */
  legacy: boolean;
  moreToCome: boolean;
  /** The client accepts a stream of replies (awaitable hello). */
  exhaustAllowed: boolean;
}

export class WireError extends Error {}

export function readHeader(buf: Buffer, offset = 0): Header {
  return {
    length: buf.readInt32LE(offset),
    requestId: buf.readInt32LE(offset + 4),
    responseTo: buf.readInt32LE(offset + 8),
    opCode: buf.readInt32LE(offset + 12),
  };
}

function readCString(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new WireError('unterminated cstring');
  return [buf.toString('utf8', offset, end), end + 1];
}

function bsonAt(buf: Buffer, offset: number): [Document, number] {
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > buf.length) throw new WireError('invalid BSON document length');
  return [deserialize(buf.subarray(offset, offset + size), DESERIALIZE), offset + size];
}

/** Parse one complete message (header included). */
export function parseMessage(msg: Buffer): ParsedMessage {
  const header = readHeader(msg);
  if (header.opCode === OpCode.OP_MSG) {
    const flags = msg.readUInt32LE(HEADER_SIZE);
    const end = flags & MSG_CHECKSUM_PRESENT ? msg.length - 4 : msg.length;
    let offset = HEADER_SIZE + 4;
    let command: Document | undefined;
    const sequences: [string, Document[]][] = [];
    while (offset < end) {
      const kind = msg.readUInt8(offset);
      offset += 1;
      if (kind === 0) {
        [command, offset] = bsonAt(msg, offset);
      } else if (kind === 1) {
        const size = msg.readInt32LE(offset);
        const sectionEnd = offset + size;
        let [id, pos] = readCString(msg, offset + 4);
        const docs: Document[] = [];
        while (pos < sectionEnd) {
          let doc: Document;
          [doc, pos] = bsonAt(msg, pos);
          docs.push(doc);
        }
        sequences.push([id, docs]);
        offset = sectionEnd;
        id = '';
      } else throw new WireError(`unknown OP_MSG section kind ${kind}`);
    }
    if (!command) throw new WireError('OP_MSG without a body section');
    for (const [id, docs] of sequences) command[id] = docs;
    return {
      header,
      command,
      legacy: false,
      moreToCome: (flags & MSG_MORE_TO_COME) !== 0,
      exhaustAllowed: (flags & MSG_EXHAUST_ALLOWED) !== 0,
    };
  }
  if (header.opCode === OpCode.OP_QUERY) {
    const [collection, afterName] = readCString(msg, HEADER_SIZE + 4);
    // numberToSkip and numberToReturn (8 bytes) are not used for commands.
    const [query] = bsonAt(msg, afterName + 8);
    const db = collection.split('.')[0];
    const body = (query.$query ?? query.query ?? query) as Document;
    const command: Document = { ...body, $db: db };
    if (query.$readPreference) command.$readPreference = query.$readPreference;
    return { header, command, legacy: true, moreToCome: false, exhaustAllowed: false };
  }
  throw new WireError(`unsupported opCode ${header.opCode}`);
}

let nextRequestId = 1;

function elementsOf(doc: Document): Uint8Array {
  const bytes = serialize(doc, { ignoreUndefined: true });
  return bytes.subarray(4, bytes.length - 1);
}

/** Serialize a reply; cursor batches may hold RawDocuments, which are copied as they are. */
export function serializeReply(reply: Document): Uint8Array {
  const cursor = reply.cursor as Document | undefined;
  const batchName = !cursor
    ? undefined
    : Array.isArray(cursor.firstBatch)
      ? 'firstBatch'
      : Array.isArray(cursor.nextBatch)
        ? 'nextBatch'
        : undefined;
  const batch = cursor && batchName ? (cursor[batchName] as unknown[]) : undefined;
  if (!cursor || !batchName || !batch || !batch.some((d) => d instanceof RawDocument))
    return serialize(reply, { ignoreUndefined: true });
  const docs = batch.map((d) =>
    d instanceof RawDocument ? d.bytes : serialize(d as Document, { ignoreUndefined: true }),
  );
  const restOfCursor: Document = { ...cursor };
  delete restOfCursor[batchName];
  const cursorDoc = rawDocument([element(0x04, batchName, rawArray(docs)), elementsOf(restOfCursor)]);
  const restOfReply: Document = { ...reply };
  delete restOfReply.cursor;
  return rawDocument([element(0x03, 'cursor', cursorDoc), elementsOf(restOfReply)]);
}

export function encodeReply(
  responseTo: number,
  reply: Document,
  legacy: boolean,
  moreToCome = false,
): Buffer {
  const body = Buffer.from(serializeReply(reply));
  const requestId = nextRequestId++ & 0x7fffffff;
  if (legacy) {
    const head = Buffer.alloc(HEADER_SIZE + 20);
    head.writeInt32LE(head.length + body.length, 0);
    head.writeInt32LE(requestId, 4);
    head.writeInt32LE(responseTo, 8);
    head.writeInt32LE(OpCode.OP_REPLY, 12);
    head.writeInt32LE(8, 16); // responseFlags: AwaitCapable
    const cursor = Long.fromNumber(0);
    head.writeInt32LE(cursor.low, 20);
    head.writeInt32LE(cursor.high, 24);
    head.writeInt32LE(0, 28); // startingFrom
    head.writeInt32LE(1, 32); // numberReturned
    return Buffer.concat([head, body]);
  }
  const head = Buffer.alloc(HEADER_SIZE + 5);
  head.writeInt32LE(head.length + body.length, 0);
  head.writeInt32LE(requestId, 4);
  head.writeInt32LE(responseTo, 8);
  head.writeInt32LE(OpCode.OP_MSG, 12);
  head.writeUInt32LE(moreToCome ? MSG_MORE_TO_COME : 0, 16);
  head.writeUInt8(0, 20);
  return Buffer.concat([head, body]);
}
