import { deserialize, serialize } from 'bson';
import { setOwn } from './own';
import { namesAreUtf8, RawDocument } from './raw-bson';
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

function readCString(buf: Buffer, offset: number, end = buf.length): [string, number] {
  const zero = buf.indexOf(0, offset);
  if (zero < 0 || zero >= end) throw new WireError('unterminated cstring');
  return [buf.toString('utf8', offset, zero), zero + 1];
}

/** The BSON document at `offset`, which must lie within `end` (a section's or the message's). */
function bsonAt(buf: Buffer, offset: number, end = buf.length): [Document, number] {
  if (offset + 5 > end) throw new WireError('a BSON document runs past its section');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new WireError('invalid BSON document length');
  let valid = false;
  try {
    valid = namesAreUtf8(buf.subarray(offset, offset + size));
  } catch (e) {
    throw new WireError(`invalid BSON document: ${(e as Error).message}`);
  }
  if (!valid) throw new WireError('invalid BSON document: a field name is not valid UTF-8');
  try {
    return [deserialize(buf.subarray(offset, offset + size), DESERIALIZE), offset + size];
  } catch (e) {
    throw new WireError(`invalid BSON document: ${(e as Error).message}`);
  }
}

/** Parse one complete message (header included). */
export function parseMessage(msg: Buffer): ParsedMessage {
  const header = readHeader(msg);
  if (header.length !== msg.length) throw new WireError('the message length does not match its header');
  if (header.opCode === OpCode.OP_MSG) {
    if (msg.length < HEADER_SIZE + 5) throw new WireError('OP_MSG shorter than its flags and a section');
    const flags = msg.readUInt32LE(HEADER_SIZE);
    const end = flags & MSG_CHECKSUM_PRESENT ? msg.length - 4 : msg.length;
    let offset = HEADER_SIZE + 4;
    let command: Document | undefined;
    const sequences: [string, Document[]][] = [];
    while (offset < end) {
      const kind = msg.readUInt8(offset);
      offset += 1;
      if (kind === 0) {
        if (command) throw new WireError('OP_MSG with two body sections');
        [command, offset] = bsonAt(msg, offset, end);
      } else if (kind === 1) {
        // A section is at least its size (4 bytes) and an identifier's terminating zero, and ends within the
        // message: a size that moved the read position backwards or past the end would loop or overrun.
        if (offset + 4 > end) throw new WireError('a document sequence section runs past the message');
        const size = msg.readInt32LE(offset);
        const sectionEnd = offset + size;
        if (size < 5 || sectionEnd > end) throw new WireError('invalid document sequence section size');
        const [id, start] = readCString(msg, offset + 4, sectionEnd);
        let pos = start;
        const docs: Document[] = [];
        while (pos < sectionEnd) {
          let doc: Document;
          [doc, pos] = bsonAt(msg, pos, sectionEnd);
          docs.push(doc);
        }
        sequences.push([id, docs]);
        offset = sectionEnd;
      } else throw new WireError(`unknown OP_MSG section kind ${kind}`);
    }
    if (!command) throw new WireError('OP_MSG without a body section');
    for (const [id, docs] of sequences) setOwn(command, id, docs);
    return {
      header,
      command,
      legacy: false,
      moreToCome: (flags & MSG_MORE_TO_COME) !== 0,
      exhaustAllowed: (flags & MSG_EXHAUST_ALLOWED) !== 0,
    };
  }
  if (header.opCode === OpCode.OP_QUERY) {
    if (msg.length < HEADER_SIZE + 5) throw new WireError('OP_QUERY shorter than its flags');
    const [collection, afterName] = readCString(msg, HEADER_SIZE + 4);
    // numberToSkip and numberToReturn (8 bytes) are not used for commands.
    const [query] = bsonAt(msg, afterName + 8);
    if (query === null || typeof query !== 'object') throw new WireError('OP_QUERY without a query');
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

/**
 * Serialize a reply after `reserve` bytes left for a message header. Cursor batches may hold RawDocuments:
 * their bytes are copied once, straight into the reply (no intermediate array or cursor documents).
 */
export function serializeReply(reply: Document, reserve = 0): Buffer {
  const cursor = reply.cursor as Document | undefined;
  const batchName = !cursor
    ? undefined
    : Array.isArray(cursor.firstBatch)
      ? 'firstBatch'
      : Array.isArray(cursor.nextBatch)
        ? 'nextBatch'
        : undefined;
  const batch = cursor && batchName ? (cursor[batchName] as unknown[]) : undefined;
  if (!cursor || !batchName || !batch || !batch.some((d) => d instanceof RawDocument)) {
    const bytes = serialize(reply, { ignoreUndefined: true });
    const out = Buffer.allocUnsafe(reserve + bytes.length);
    out.set(bytes, reserve);
    return out;
  }
  const docs = batch.map((d) =>
    d instanceof RawDocument ? d.bytes : serialize(d as Document, { ignoreUndefined: true }),
  );
  const restOfCursor: Document = { ...cursor };
  delete restOfCursor[batchName];
  const cursorRest = elementsOf(restOfCursor);
  const restOfReply: Document = { ...reply };
  delete restOfReply.cursor;
  const replyRest = elementsOf(restOfReply);
  // {cursor: {<batchName>: [docs...], ...restOfCursor}, ...restOfReply}
  let arraySize = 5;
  for (let i = 0; i < docs.length; i++) arraySize += 2 + decimalDigits(i) + docs[i].length;
  const cursorSize = 4 + 1 + batchName.length + 1 + arraySize + cursorRest.length + 1;
  const replySize = 4 + 1 + 'cursor'.length + 1 + cursorSize + replyRest.length + 1;
  const out = Buffer.allocUnsafe(reserve + replySize);
  let o = reserve;
  o = out.writeInt32LE(replySize, o);
  out[o++] = 0x03;
  o += out.write('cursor\0', o, 'latin1');
  o = out.writeInt32LE(cursorSize, o);
  out[o++] = 0x04;
  o += out.write(batchName + '\0', o, 'latin1');
  o = out.writeInt32LE(arraySize, o);
  for (let i = 0; i < docs.length; i++) {
    out[o++] = 0x03;
    o = writeDecimal(out, o, i);
    out[o++] = 0;
    out.set(docs[i], o);
    o += docs[i].length;
  }
  out[o++] = 0;
  out.set(cursorRest, o);
  o += cursorRest.length;
  out[o++] = 0;
  out.set(replyRest, o);
  o += replyRest.length;
  out[o] = 0;
  return out;
}

function decimalDigits(i: number): number {
  return i < 10 ? 1 : i < 100 ? 2 : i < 1000 ? 3 : String(i).length;
}

/** Write the ASCII digits of a non-negative integer (an array index key) at `o`; returns the next offset. */
function writeDecimal(out: Buffer, o: number, i: number): number {
  const end = o + decimalDigits(i);
  let p = end;
  do {
    out[--p] = 48 + (i % 10);
    i = Math.floor(i / 10);
  } while (i > 0);
  return end;
}

export function encodeReply(
  responseTo: number,
  reply: Document,
  legacy: boolean,
  moreToCome = false,
): Buffer {
  const requestId = nextRequestId++ & 0x7fffffff;
  if (legacy) {
    const out = serializeReply(reply, HEADER_SIZE + 20);
    out.writeInt32LE(out.length, 0);
    out.writeInt32LE(requestId, 4);
    out.writeInt32LE(responseTo, 8);
    out.writeInt32LE(OpCode.OP_REPLY, 12);
    out.writeInt32LE(8, 16); // responseFlags: AwaitCapable
    out.writeInt32LE(0, 20); // cursorID (8 bytes)
    out.writeInt32LE(0, 24);
    out.writeInt32LE(0, 28); // startingFrom
    out.writeInt32LE(1, 32); // numberReturned
    return out;
  }
  const out = serializeReply(reply, HEADER_SIZE + 5);
  out.writeInt32LE(out.length, 0);
  out.writeInt32LE(requestId, 4);
  out.writeInt32LE(responseTo, 8);
  out.writeInt32LE(OpCode.OP_MSG, 12);
  out.writeUInt32LE(moreToCome ? MSG_MORE_TO_COME : 0, 16);
  out.writeUInt8(0, 20); // section kind 0: the body
  return out;
}
