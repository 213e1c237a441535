// The portal chat page: the room list, one open room, the composer, and for the AI chat
// the model picker and the "forget" button. Everything live arrives through stream.js.

import { api, roomPath } from './api.js';
import { Outbox } from './outbox.js';
import { connect } from './stream.js';
import { KIND_LABELS, text } from './strings.js';
import { RoomView } from './timeline.js';

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  rooms: new Map(), // room id → summary from the server
  views: new Map(), // room id → RoomView
  typing: new Map(), // room id → names
  current: null,
  homeserverUp: true,
  online: false,
};

const outbox = new Outbox((item) => viewFor(item.roomId).showOutgoing(item));

function viewFor(roomId) {
  let view = state.views.get(roomId);
  if (!view) {
    view = new RoomView(roomId, state.me, (item) => outbox.retry(item));
    state.views.set(roomId, view);
  }
  return view;
}

// --- connection banner ------------------------------------------------------------
function showConnection() {
  const banner = $('connection');
  if (!state.online) {
    banner.textContent = text.offline;
  } else if (!state.homeserverUp) {
    banner.textContent = text.homeserverDown;
  }
  banner.hidden = state.online && state.homeserverUp;
  document.body.classList.toggle('offline', !banner.hidden);
}

// --- room list ----------------------------------------------------------------------
function sortedRooms() {
  const order = { ai: 0, public: 1, room: 2, direct: 3 };
  return [...state.rooms.values()].sort(
    (a, b) =>
      (a.membership === 'invite' ? -1 : 0) - (b.membership === 'invite' ? -1 : 0) ||
      order[a.kind] - order[b.kind] ||
      b.last_ts - a.last_ts ||
      a.name.localeCompare(b.name),
  );
}

const PAGE_TITLE = document.title;

function renderRoomList() {
  const waiting = [...state.rooms.values()].reduce((sum, room) => sum + (room.id === state.current ? 0 : room.unread), 0);
  document.title = waiting ? `(${waiting}) ${PAGE_TITLE}` : PAGE_TITLE; // seen from other tabs
  const list = $('room-list');
  // The list is rebuilt on every sync: whoever is on one of its buttons stays there.
  const focused = list.contains(document.activeElement) ? document.activeElement.closest('li') : null;
  const focusedRoom = focused && focused.dataset.roomId;
  list.replaceChildren();
  for (const room of sortedRooms()) {
    const item = document.createElement('li');
    item.dataset.roomId = room.id;
    if (room.membership === 'invite') {
      const label = document.createElement('span');
      label.textContent = text.invitation(room.name, room.inviter);
      const accept = document.createElement('button');
      accept.type = 'button';
      accept.textContent = text.accept;
      accept.addEventListener('click', () => acceptInvite(room));
      item.append(label, ' ', accept);
    } else {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'room-button';
      button.setAttribute('aria-current', room.id === state.current ? 'true' : 'false');
      const name = document.createElement('span');
      name.className = 'room-name';
      name.textContent = room.name;
      const kind = document.createElement('span');
      kind.className = `kind kind-${room.kind}`;
      kind.textContent = KIND_LABELS[room.kind];
      button.append(name, ' ', kind);
      if (room.unread > 0 && room.id !== state.current) {
        const unread = document.createElement('span');
        unread.className = 'unread';
        unread.textContent = String(room.unread);
        unread.setAttribute('aria-label', text.unread(room.unread));
        button.append(' ', unread);
      }
      button.addEventListener('click', () => openRoom(room.id));
      item.append(button);
    }
    list.append(item);
    if (room.id === focusedRoom) item.querySelector('button').focus();
  }
}

async function acceptInvite(room) {
  try {
    const body = { room: room.id };
    if (room.kind === 'direct' || room.kind === 'ai') body.direct_with = room.inviter;
    await api('POST', '/chat/api/join', body);
    room.membership = 'join';
    renderRoomList();
    openRoom(room.id);
  } catch (error) {
    $('rooms-error').textContent = error.message;
  }
}

// --- the open room ------------------------------------------------------------------
async function openRoom(roomId) {
  state.current = roomId;
  if (window.location.hash !== `#room=${roomId}`) history.replaceState(null, '', `#room=${roomId}`);
  $('room-title').textContent = text.loading;
  $('ai-tools').hidden = true;
  $('room-persona').hidden = true;
  refreshHeader();
  $('composer').hidden = false;
  $('send-error').textContent = '';
  const view = viewFor(roomId);
  $('timeline-holder').replaceChildren(view.node);
  showTyping();
  renderRoomList();
  if (!view.live) {
    try {
      await view.loadLatest();
    } catch (error) {
      if (state.current === roomId) $('send-error').textContent = error.message;
    }
  }
  if (state.current !== roomId) return; // another room was opened meanwhile
  $('older').hidden = view.atStart;
  scrollToEnd();
  markRead();
}

function scrollToEnd() {
  const holder = $('timeline-holder');
  holder.scrollTop = holder.scrollHeight;
}

let readTimer = null;
function markRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const view = state.current && state.views.get(state.current);
    const room = state.current && state.rooms.get(state.current);
    if (!view || !view.lastEventId || document.hidden) return;
    if (room) room.unread = 0;
    renderRoomList();
    try {
      await api('POST', roomPath(view.roomId, 'read'), { event_id: view.lastEventId });
    } catch {
      // unread counts are a convenience: the next read mark will catch up
    }
  }, 300);
}

function showTyping() {
  const names = state.typing.get(state.current) || [];
  $('typing').textContent = text.typing(names);
}

// --- live updates -----------------------------------------------------------------------
function onRooms(data) {
  state.me = data.me;
  state.rooms = new Map(data.rooms.map((room) => [room.id, room]));
  renderRoomList();
  const wanted = new URLSearchParams(window.location.hash.slice(1)).get('room');
  if (wanted && !state.current) openRoom(wanted);
  refreshHeader();
}

function refreshHeader() {
  const room = state.current && state.rooms.get(state.current);
  if (!room) return;
  $('room-title').textContent = room.name;
  $('room-persona').textContent = room.persona ? text.persona(room.persona) : '';
  $('room-persona').hidden = !room.persona;
  $('encrypted-note').hidden = !room.encrypted;
  $('message').disabled = room.encrypted;
  const isAi = room.kind === 'ai';
  $('ai-tools').hidden = !isAi;
  if (isAi) loadModels();
}

function onSync(data) {
  for (const room of data.rooms) state.rooms.set(room.id, room);
  for (const roomId of data.gone) state.rooms.delete(roomId);
  for (const [roomId, names] of Object.entries(data.typing)) state.typing.set(roomId, names);
  for (const roomId of data.limited) {
    const view = state.views.get(roomId);
    if (view && view.live) {
      view.live = false;
      if (roomId === state.current) openRoom(roomId);
    }
  }
  const holder = $('timeline-holder');
  const nearEnd = holder.scrollHeight - holder.scrollTop - holder.clientHeight < 80;
  for (const [roomId, events] of Object.entries(data.events)) {
    const view = state.views.get(roomId);
    if (!view || !view.live) continue; // loaded from history when opened
    for (const event of events) view.add(event);
  }
  if (state.current && data.events[state.current]) {
    if (nearEnd) scrollToEnd();
    markRead();
  }
  showTyping();
  refreshHeader();
  renderRoomList();
}

function onReset() {
  for (const view of state.views.values()) view.live = false;
  if (state.current) openRoom(state.current);
}

// --- the composer and the forms ---------------------------------------------------------
function sendText(text) {
  if (!state.current) return;
  stopTyping();
  outbox.send(state.current, text);
  scrollToEnd();
}

// Others see "… is typing": refreshed every few seconds while keys are pressed, ended on
// send, and after a pause.
const TYPING_REFRESH_MS = 5000;
const TYPING_PAUSE_MS = 6000;
let typingRoom = null;
let typingSentAt = 0;
let typingPause = null;

function typing(roomId, on) {
  api('POST', roomPath(roomId, 'typing'), { typing: on }).catch(() => {});
}

function startTyping() {
  if (!state.current) return;
  if (typingRoom !== state.current || Date.now() - typingSentAt > TYPING_REFRESH_MS) {
    if (typingRoom && typingRoom !== state.current) typing(typingRoom, false);
    typingRoom = state.current;
    typingSentAt = Date.now();
    typing(typingRoom, true);
  }
  clearTimeout(typingPause);
  typingPause = setTimeout(stopTyping, TYPING_PAUSE_MS);
}

function stopTyping() {
  clearTimeout(typingPause);
  if (typingRoom) typing(typingRoom, false);
  typingRoom = null;
  typingSentAt = 0;
}

$('message').addEventListener('input', () => {
  if ($('message').value) startTyping();
  else stopTyping();
});

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const field = $('message');
  const text = field.value;
  if (!text.trim()) {
    $('send-error').textContent = text.emptyMessage;
    return;
  }
  $('send-error').textContent = '';
  field.value = '';
  sendText(text);
});

$('message').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});

let loadingOlder = false;
$('older').addEventListener('click', async () => {
  const view = state.views.get(state.current);
  if (!view || loadingOlder) return;
  loadingOlder = true;
  const holder = $('timeline-holder');
  const fromEnd = holder.scrollHeight - holder.scrollTop;
  try {
    await view.loadOlder();
  } catch (error) {
    $('send-error').textContent = error.message;
  } finally {
    loadingOlder = false;
  }
  holder.scrollTop = holder.scrollHeight - fromEnd; // keep the reader's place
  $('older').hidden = view.atStart;
});

$('timeline-holder').addEventListener('scroll', () => {
  if ($('timeline-holder').scrollTop === 0 && !$('older').hidden) $('older').click();
});

$('direct-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('direct-error').textContent = '';
  try {
    const answer = await api('POST', '/chat/api/direct', { username: $('direct-username').value });
    $('direct-username').value = '';
    openRoom(answer.room_id);
  } catch (error) {
    $('direct-error').textContent = error.message;
  }
});

$('directory').addEventListener('toggle', async () => {
  if (!$('directory').open) return;
  const list = $('directory-list');
  list.replaceChildren();
  try {
    const answer = await api('GET', '/chat/api/directory');
    for (const room of answer.rooms) {
      const item = document.createElement('li');
      const label = document.createElement('span');
      label.textContent = text.directoryRoom(room);
      item.append(label, ' ');
      const joined = state.rooms.get(room.id);
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = joined && joined.membership === 'join' ? text.open : text.join;
      button.addEventListener('click', async () => {
        try {
          const result = await api('POST', '/chat/api/join', { room: room.id });
          openRoom(result.room_id);
        } catch (error) {
          $('rooms-error').textContent = error.message;
        }
      });
      item.append(button);
      list.append(item);
    }
  } catch (error) {
    $('rooms-error').textContent = error.message;
  }
});

// --- the AI chat's tools ------------------------------------------------------------------
let modelsRequest = null; // loaded once per page; a failure lets the next call try again
function loadModels() {
  modelsRequest ||= fillModelPicker().catch((error) => {
    modelsRequest = null;
    $('model-status').textContent = error.message;
  });
}

async function fillModelPicker() {
  const answer = await api('GET', '/chat/api/models');
  const picker = $('model-picker');
  picker.replaceChildren();
  for (const name of answer.models.length ? answer.models : [answer.current]) {
    const option = document.createElement('option');
    option.value = option.textContent = name;
    option.selected = name === answer.current;
    picker.append(option);
  }
  picker.disabled = answer.offline;
  $('model-status').textContent = answer.offline ? text.aiOffline : '';
}

$('model-picker').addEventListener('change', async () => {
  try {
    const answer = await api('POST', '/chat/api/model', { model: $('model-picker').value });
    $('model-status').textContent = text.modelSaved(answer.current);
  } catch (error) {
    $('model-status').textContent = error.message;
  }
});

$('forget').addEventListener('click', async () => {
  if (!window.confirm(text.confirmForget)) return;
  try {
    await api('POST', roomPath(state.current, 'forget'));
    $('model-status').textContent = text.forgotten;
  } catch (error) {
    $('model-status').textContent = error.message;
  }
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) markRead();
});

connect({
  onRooms,
  onSync,
  onReset,
  onOnline(online) {
    state.online = online;
    showConnection();
  },
  onHomeserver(up) {
    state.homeserverUp = up;
    showConnection();
  },
});
