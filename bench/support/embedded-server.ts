// Starts an embedded server in its own process for benchmarks and prints its URI on stdout.
import { EmbeddedMongo } from '@odtp/embedded-mongo';

async function main(): Promise<void> {
  const server = await EmbeddedMongo.create({ port: 0, dbPath: process.argv[2] || undefined });
  process.stdout.write(`MONGODB_URI=${server.getUri()}\n`);
  const stop = (): void => void server.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
