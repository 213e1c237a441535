// Messages the user sends. Each gets its transaction id when written, so however many
// times a send is retried (lost connection, homeserver down) the homeserver stores it once.
// A refused message (not allowed, too long) is marked failed and can be retried by hand.

import { api, roomPath } from './api.js';

const DELAYS_MS = [1000, 2000, 4000, 8000, 15000];

// crypto.randomUUID needs a secure context; a portal reached over plain HTTP on a LAN has none.
function newTransactionId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Outbox {
  constructor(onChange) {
    this.onChange = onChange; // (item) => void, called whenever an item's state changes
    this.queues = new Map(); // room id → items waiting, sent one at a time, in order
  }

  send(roomId, body) {
    const item = { roomId, body, txn: newTransactionId(), state: 'sending', error: null, eventId: null };
    this.enqueue(item);
    return item;
  }

  retry(item) {
    item.state = 'sending';
    item.error = null;
    this.enqueue(item);
  }

  enqueue(item) {
    this.onChange(item);
    const queue = this.queues.get(item.roomId) || [];
    queue.push(item);
    this.queues.set(item.roomId, queue);
    if (queue.length === 1) this.drain(item.roomId);
  }

  async drain(roomId) {
    const queue = this.queues.get(roomId);
    while (queue.length > 0) {
      await this.deliver(queue[0]);
      queue.shift();
    }
  }

  async deliver(item) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const answer = await api('POST', roomPath(item.roomId, 'send'), { body: item.body, txn: item.txn });
        item.state = 'sent';
        item.eventId = answer.event_id;
        this.onChange(item);
        return;
      } catch (error) {
        if (!error.retryable) {
          item.state = 'failed';
          item.error = error.message;
          this.onChange(item);
          return;
        }
        item.state = 'waiting';
        item.error = error.message;
        this.onChange(item);
        await new Promise((resolve) => setTimeout(resolve, DELAYS_MS[Math.min(attempt, DELAYS_MS.length - 1)]));
      }
    }
  }
}
