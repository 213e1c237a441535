// One room's messages on the page. Text is always set as text; the only HTML inserted is
// the `html` the portal sanitised on the server. Edits (`m.replace`) change the message
// they name in place, and only when they come from that message's sender.

import { api, roomPath } from './api.js';
import { text } from './strings.js';

const STATUS_WORDS = { sending: text.sending, waiting: text.waiting, failed: text.failed, sent: '' };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderBody(container, view) {
  container.replaceChildren();
  container.classList.remove('plain');
  if (view.deleted) {
    container.append(element('em', 'deleted', text.deleted));
    return;
  }
  if (view.media) {
    if (!view.media.url) {
      container.append(element('em', null, text.encryptedAttachment));
    } else if (view.media.kind === 'video') {
      const video = element('video');
      video.controls = true;
      video.preload = 'metadata';
      video.src = view.media.url;
      video.setAttribute('aria-label', view.body);
      container.append(video);
    } else {
      const link = element('a');
      link.href = view.media.url;
      const image = element('img');
      image.src = view.media.thumb || view.media.url;
      image.alt = view.body;
      image.loading = 'lazy';
      link.append(image);
      container.append(link);
    }
    return;
  }
  if (view.html !== null && view.html !== undefined) {
    container.innerHTML = view.html; // sanitised by the portal (nh3), never the raw event
  } else {
    container.textContent = view.body;
    container.classList.add('plain');
  }
}

export class RoomView {
  constructor(roomId, me, onRetry) {
    this.roomId = roomId;
    this.me = me;
    this.onRetry = onRetry;
    // The messages are a list inside a log region: screen readers announce new ones
    // politely, and the <li>s stay items of a list (role="log" on the <ol> itself would
    // take its list role away).
    this.list = element('ol', 'timeline');
    this.node = element('div', 'timeline-log');
    this.node.setAttribute('role', 'log');
    this.node.setAttribute('aria-label', text.messages);
    this.node.append(this.list);
    this.byId = new Map(); // event id → { node, sender }
    this.byTxn = new Map(); // transaction id → node of a message being sent from here
    this.editsWaiting = new Map(); // event id → edits that arrived before their message
    this.next = null; // where older history starts
    this.generation = 0; // counts reloads of the whole room
    this.live = false; // taking live events (from the moment history starts loading)
    this.atStart = false;
    this.lastEventId = null;
  }

  // Live events that arrive while this loads are kept: history goes in front of them.
  // A newer reload (after a gap in the live stream, say) makes an older one's page void.
  async loadLatest() {
    const generation = ++this.generation;
    this.list.replaceChildren(...this.byTxn.values()); // messages still being sent stay
    this.byId.clear();
    this.next = null;
    this.atStart = false;
    this.live = true;
    try {
      await this.loadOlder(generation);
    } catch (error) {
      if (generation === this.generation) this.live = false;
      throw error;
    }
  }

  async loadOlder(generation = this.generation) {
    if (this.atStart) return;
    const query = this.next ? `?from=${encodeURIComponent(this.next)}` : '';
    const page = await api('GET', roomPath(this.roomId, 'messages') + query);
    if (generation !== this.generation) return;
    const first = this.list.firstChild;
    for (const event of page.events) this.add(event, first);
    this.next = page.next;
    this.atStart = !page.next;
  }

  // Add a described event; `before` is the node to insert in front of (history), or
  // nothing to append (live).
  add(event, before = null) {
    const known = event.id && this.byId.get(event.id);
    if (known) {
      // Our own message, already confirmed by the send: now show it as stored.
      if (event.txn && known.node.dataset.txn === event.txn) renderBody(known.node.querySelector('.body'), event);
      return;
    }
    if (event.type === 'edit') return this.applyEdit(event);
    if (event.type === 'redaction') {
      const target = this.byId.get(event.target);
      if (target) renderBody(target.node.querySelector('.body'), { deleted: true });
      return;
    }
    let node = event.txn ? this.byTxn.get(event.txn) : null;
    if (node) {
      this.byTxn.delete(event.txn);
      node.classList.remove('pending');
      node.querySelector('.status').textContent = '';
      renderBody(node.querySelector('.body'), event); // as stored: Markdown rendered
    } else {
      node = this.messageNode(event);
      this.list.insertBefore(node, before);
    }
    if (event.id) {
      node.dataset.eventId = event.id;
      this.byId.set(event.id, { node, sender: event.sender });
      if (!before) this.lastEventId = event.id;
      for (const edit of this.editsWaiting.get(event.id) || []) this.applyEdit(edit);
      this.editsWaiting.delete(event.id);
    }
  }

  messageNode(event) {
    const node = element('li', `event ${event.type}`);
    if (event.type === 'membership') {
      node.textContent = event.body;
      return node;
    }
    if (event.type === 'encrypted') {
      node.append(element('em', null, text.encryptedMessage));
      return node;
    }
    if (event.sender === this.me) node.classList.add('mine');
    if (event.msgtype === 'm.notice') node.classList.add('m-notice');
    const sender = element('span', 'sender', event.sender === this.me ? text.you : event.sender_name);
    sender.title = event.sender;
    const body = element('div', 'body');
    renderBody(body, event);
    node.append(sender, body, element('span', 'status'));
    return node;
  }

  applyEdit(edit) {
    const target = this.byId.get(edit.target);
    if (!target) {
      const waiting = this.editsWaiting.get(edit.target) || [];
      waiting.push(edit);
      this.editsWaiting.set(edit.target, waiting);
      return;
    }
    if (target.sender !== edit.sender) return; // only the author may change a message
    renderBody(target.node.querySelector('.body'), edit);
    target.node.classList.add('edited');
  }

  // A message typed here, shown at once and updated as the outbox delivers it.
  showOutgoing(item) {
    let node = this.byTxn.get(item.txn) || this.list.querySelector(`[data-txn="${item.txn}"]`);
    if (!node) {
      if (item.eventId && this.byId.has(item.eventId)) return;
      node = this.messageNode({ type: 'message', sender: this.me, body: item.body, html: null });
      node.dataset.txn = item.txn;
      node.classList.add('pending');
      this.list.append(node);
      this.byTxn.set(item.txn, node);
    }
    const status = node.querySelector('.status');
    status.textContent = item.error && item.state !== 'sent' ? `${STATUS_WORDS[item.state]} (${item.error})` : STATUS_WORDS[item.state];
    node.classList.toggle('failed', item.state === 'failed');
    if (item.state === 'failed') {
      const retry = element('button', 'link', text.retry);
      retry.type = 'button';
      retry.addEventListener('click', () => this.onRetry(item));
      status.append(' ', retry);
    }
    if (item.state === 'sent') {
      this.byTxn.delete(item.txn);
      node.classList.remove('pending');
      if (item.eventId && !this.byId.has(item.eventId)) {
        node.dataset.eventId = item.eventId;
        this.byId.set(item.eventId, { node, sender: this.me });
        this.lastEventId = item.eventId;
      }
    }
    return node;
  }
}
