import { setTimeout as sleep } from 'node:timers/promises';
import { ClientError } from '../client/http.js';

/** Rides out a server restart while watching a job or its logs; other errors end the watch at once. */
export async function retryWhileUnreachable<T>(call: () => Promise<T>, giveUpAfterMs = 30_000): Promise<T> {
  const deadline = Date.now() + giveUpAfterMs;
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 5000)) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ClientError && err.code === 'unreachable') || Date.now() + delayMs > deadline) throw err;
      await sleep(delayMs);
    }
  }
}
