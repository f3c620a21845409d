/** Where a scheduled audit posts its new findings. */
export type WebhookSender = (url: string, body: unknown) => Promise<void>;

export const WEBHOOK_SENDER = Symbol('WEBHOOK_SENDER');

/** Post JSON with a 5 s timeout, retried 3 times with backoff; the URL is never logged (it may hold a token). */
export async function postWebhook(url: string, body: unknown, attempts = 3, timeoutMs = 5000): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.ok) return;
      last = new Error(`HTTP ${res.status}`);
    } catch (e) {
      last = e;
    }
    if (i < attempts - 1) await new Promise((r) => setTimeout(r, 500 * 2 ** i));
  }
  throw new Error(
    `webhook to ${new URL(url).host} failed after ${attempts} attempts: ${last instanceof Error ? last.message : String(last)}`,
  );
}
