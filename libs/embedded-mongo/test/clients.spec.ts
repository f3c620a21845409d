import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import mongoose, { Schema, Types } from 'mongoose';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { tempDir } from '../../../test/support/temp-dirs';

const run = promisify(execFile);
const ESC = String.fromCharCode(27);
const stripAnsi = (s: string): string =>
  s
    .split(ESC)
    .map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;]*m/, '')))
    .join('');
let mongo: TestMongo;

beforeAll(async () => {
  mongo = await startTestMongo();
});
afterAll(async () => {
  await mongo.close();
});

describe('mongoose 9 with default options (autoCreate, autoIndex)', () => {
  let conn: mongoose.Connection;
  const dbName = `mongoose_${process.pid}`;

  beforeAll(async () => {
    conn = await mongoose.createConnection(mongo.uri, { dbName }).asPromise();
  });
  afterAll(async () => {
    await conn.dropDatabase();
    await conn.close();
  });

  const userSchema = new Schema({
    displayName: { type: String, required: true, unique: true },
    twins: [{ type: Schema.Types.ObjectId, ref: 'Twin' }],
  });
  const twinSchema = new Schema({ name: String, userRef: { type: Schema.Types.ObjectId, ref: 'User' } });

  it('saves, pushes into arrays, populates and reports unique index errors', async () => {
    const User = conn.model('User', userSchema);
    const Twin = conn.model('Twin', twinSchema);
    await User.init();
    await Twin.init();
    const user = await User.create({ displayName: 'Ann' });
    const twin = await Twin.create({ name: 'T1', userRef: user._id });
    user.twins.push(twin._id);
    await user.save();
    const loaded = await User.findById(user._id).populate('twins').lean();
    expect(loaded?.twins.map((t) => (t as unknown as { name: string }).name)).toEqual(['T1']);
    const back = await Twin.findOne({ name: 'T1' }).populate<{ userRef: { displayName: string } }>('userRef');
    expect(back?.userRef.displayName).toBe('Ann');
    await expect(User.create({ displayName: 'Ann' })).rejects.toMatchObject({ code: 11000 });
    expect(user._id).toBeInstanceOf(Types.ObjectId);
  });

  it('Model.syncIndexes creates declared indexes and drops undeclared ones', async () => {
    const schema = new Schema({ a: Number, b: Number });
    schema.index({ a: 1 });
    const M = conn.model('Sync', schema);
    await M.init();
    await M.collection.createIndex({ b: 1 }, { name: 'b_1' });
    const dropped = await M.syncIndexes();
    expect(dropped).toEqual(['b_1']);
    expect((await M.collection.indexes()).map((i) => i.name)).toEqual(['_id_', 'a_1']);
  });
});

describe('migrate-mongo 14 CLI', () => {
  it('runs up, status and down with its changelog and lock collections', async () => {
    const dir = tempDir('mm-');
    const dbName = `mm_${process.pid}`;
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.mkdirSync(path.join(dir, 'migrations'));
    fs.writeFileSync(
      path.join(dir, 'migrate-mongo-config.js'),
      `export default { mongodb: { url: ${JSON.stringify(mongo.uri)}, databaseName: ${JSON.stringify(dbName)}, options: {} },
        migrationsDir: 'migrations', changelogCollectionName: 'changelog', lockCollectionName: 'changelog_lock', lockTtl: 30,
        migrationFileExtension: '.js', useFileHash: true, moduleSystem: 'esm' };`,
    );
    fs.writeFileSync(
      path.join(dir, 'migrations', '20240101000000-add.js'),
      `export const up = async (db) => { await db.collection('items').insertOne({ _id: 'a', v: 1 }); };
       export const down = async (db) => { await db.collection('items').deleteOne({ _id: 'a' }); };`,
    );
    const bin = path.join(__dirname, '../../../node_modules/migrate-mongo/bin/migrate-mongo.js');
    const cli = (args: string[]) => run(process.execPath, [bin, ...args], { cwd: dir });
    const up = await cli(['up']);
    expect(up.stdout).toContain('MIGRATED UP: 20240101000000-add.js');
    const db = mongo.client.db(dbName);
    expect(await db.collection('items').findOne({})).toEqual({ _id: 'a', v: 1 });
    const log = await db.collection('changelog').find({}).toArray();
    expect(log.map((l) => l.fileName)).toEqual(['20240101000000-add.js']);
    expect(typeof log[0].fileHash).toBe('string');
    expect(await db.collection('changelog_lock').countDocuments()).toBe(0);
    expect((await db.collection('changelog_lock').indexes()).some((i) => i.expireAfterSeconds === 30)).toBe(
      true,
    );
    const status = await cli(['status']);
    const plain = stripAnsi(status.stdout);
    expect(plain).toMatch(/│ 20240101000000-add\.js │ [0-9a-f]{64} │ \d{4}-\d\d-\d\dT/);
    const down = await cli(['down']);
    expect(down.stdout).toContain('MIGRATED DOWN: 20240101000000-add.js');
    expect(await db.collection('items').countDocuments()).toBe(0);
    expect(await db.collection('changelog').countDocuments()).toBe(0);
    await db.dropDatabase();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
