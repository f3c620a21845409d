import { configLine, generateKey, ROLES } from '@odtp/auth';
import type { Role } from '@odtp/auth';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { CliError, parseChoice, CommandGroup } from '../cli-support';
import { print } from '../database-command';

@SubCommand({
  name: 'create',
  description: 'Print a new API key once, and the ADMIN_API_KEYS entry (its sha256) for the configuration',
})
export class ApiKeyCreateCommand extends CommandRunner {
  async run(_p: string[], options: { role?: Role; id?: string }): Promise<void> {
    if (!options.role) throw new CliError('--role viewer|admin is required', 2);
    const id = options.id ?? `${options.role}-${Date.now().toString(36)}`;
    const key = generateKey();
    print(`API key (shown once, store it safely): ${key}`);
    print(`ADMIN_API_KEYS entry (append with a comma): ${configLine(id, options.role, key)}`);
  }

  @Option({ flags: '--role <role>', description: 'viewer (reads) or admin (everything)' })
  role(v: string): Role {
    return parseChoice(v, ROLES, '--role');
  }

  @Option({ flags: '--id <id>', description: 'a name for the key, shown in logs and the admin audit log' })
  id(v: string): string {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v))
      throw new CliError('--id may hold letters, digits, _ . - (at most 64)', 2);
    return v;
  }
}

@Command({ name: 'apikey', description: 'API keys of the admin API', subCommands: [ApiKeyCreateCommand] })
export class ApiKeyCommand extends CommandGroup {}
