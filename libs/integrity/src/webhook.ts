/** Where a scheduled audit posts its new findings (`authorization`: the Authorization header, if any). */
export type WebhookSender = (url: string, body: unknown, authorization?: string) => Promise<void>;

export const WEBHOOK_SENDER = Symbol('WEBHOOK_SENDER');

/**
 * Post JSON with a 5 s timeout, retried 3 times with backoff. A redirect is not followed (it would re-post the
 * findings, and the Authorization header, wherever it points): it counts as a failure. Neither the URL (it may hold
 * a token) nor the header is ever in a message: only the host.
 */
export async function postWebhook(
  url: string,
  body: unknown,
  authorization?: string,
  attempts = 3,
  timeoutMs = 5000,
): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      last = new Error(
        res.status >= 300 && res.status < 400
          ? `HTTP ${res.status} (a redirect: not followed)`
          : `HTTP ${res.status}`,
      );
    } catch (e) {
      // fetch's own messages do not repeat the URL, but its cause might: keep the name and message only
      last = e instanceof Error ? new Error(e.name === 'TimeoutError' ? 'timed out' : e.message) : e;
    }
    if (i < attempts - 1) await new Promise((r) => setTimeout(r, 500 * 2 ** i));
  }
  throw new Error(
    `webhook to ${new URL(url).host} failed after ${attempts} attempts: ${last instanceof Error ? last.message : String(last)}`,
  );
}
