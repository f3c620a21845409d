import ConnectionString from 'mongodb-connection-string-url';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Why seeding this target looks like production (undefined when it looks local). */
export function productionReason(uri: string, nodeEnv: string | undefined): string | undefined {
  if (nodeEnv === 'production') return 'NODE_ENV=production';
  let hosts: string[];
  try {
    hosts = new ConnectionString(uri).hosts.map((h) => h.replace(/:\d+$/, '').toLowerCase());
  } catch {
    return 'the database URI cannot be parsed';
  }
  const remote = hosts.filter((h) => !LOCAL_HOSTS.has(h));
  if (new ConnectionString(uri).isSRV || remote.length)
    return `the database host ${remote[0] ?? hosts[0]} is not local`;
  return undefined;
}
