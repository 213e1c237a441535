// The live connection: server-sent events relayed from the user's Matrix sync. A lost
// connection is retried with growing delays, resuming from the last sync position, so
// nothing is missed; `onOnline(false)` lets the page show that it is reconnecting.

const DELAYS_MS = [1000, 2000, 4000, 8000, 15000];

// A stream refused because the login ended looks like any lost connection to EventSource.
async function sessionEnded() {
  try {
    const response = await fetch('/chat/api/session', { credentials: 'same-origin' });
    return response.status === 401;
  } catch {
    return false; // the portal is unreachable: keep trying
  }
}

export function connect(handlers) {
  let lastId = null;
  let failures = 0;
  let source = null;

  function open() {
    const url = lastId ? `/chat/api/stream?since=${encodeURIComponent(lastId)}` : '/chat/api/stream';
    source = new EventSource(url);
    const on = (name, handler) =>
      source.addEventListener(name, (message) => {
        if (message.lastEventId) lastId = message.lastEventId;
        handler(JSON.parse(message.data));
      });
    on('rooms', (data) => {
      failures = 0;
      handlers.onOnline(true);
      handlers.onRooms(data);
    });
    on('sync', handlers.onSync);
    on('reset', handlers.onReset);
    on('status', (data) => handlers.onHomeserver(data.homeserver === 'up'));
    on('logout', () => {
      source.close();
      window.location.assign('/login?next=/chat');
    });
    source.onerror = async () => {
      // EventSource would retry at a fixed pace; we back off instead.
      source.close();
      handlers.onOnline(false);
      if (await sessionEnded()) {
        window.location.assign('/login?next=/chat');
        return;
      }
      const delay = DELAYS_MS[Math.min(failures, DELAYS_MS.length - 1)];
      failures += 1;
      setTimeout(open, delay);
    };
  }

  open();
}
