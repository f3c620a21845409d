import { DatabaseService } from '@odtp/database';
import { IntegrityWatch } from '@odtp/integrity';
import { Command } from 'nest-commander';
import { DatabaseCommand, print } from '../database-command';
import type { DatabaseOptions } from '../database-command';

@Command({
  name: 'watch',
  description:
    "Live integrity watch: follow the database's change stream and check, within seconds, what each change can break (the changed documents' references, the referrers of deleted documents): findings in integrity_live, resumed after a restart without missing or repeating an event; one watch per database (others stand by). Needs a replica set (the embedded server is one). Runs until SIGTERM/Ctrl-C (exit 0)",
})
export class WatchCommand extends DatabaseCommand<DatabaseOptions> {
  constructor(
    database: DatabaseService,
    private readonly watch: IntegrityWatch,
  ) {
    super(database);
  }

  protected async execute(): Promise<void> {
    const end = await this.watch.start({
      onBatch: (b) =>
        print(
          `${new Date().toISOString()} ${b.events} change(s): ${b.checked} document(s) checked, ${b.opened} finding(s) opened`,
        ),
    });
    print(`watch stopped: ${end.events} change(s) recorded in ${end.batches} batch(es)`);
  }

  protected override async interrupt(): Promise<void> {
    await this.watch.stop();
  }
}
