// What the chat page says to people, in one place.

export const KIND_LABELS = { ai: 'AI', direct: 'Direct', public: 'Public', room: 'Room' };

export const text = {
  offline: 'Offline: reconnecting…',
  homeserverDown: 'The chat server is unreachable: retrying…',
  invitation: (room, inviter) => `${room}: invitation from ${inviter || 'someone'}`,
  accept: 'Accept',
  unread: (count) => `${count} unread`,
  loading: 'Loading…',
  typing: (names) =>
    names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : `${names.join(', ')} are typing…`,
  emptyMessage: 'Write something before sending.',
  directoryRoom: (room) => `${room.name} (${room.members} members)`,
  open: 'Open',
  join: 'Join',
  aiOffline: 'The AI service is offline.',
  modelSaved: (model) => `Saved: the assistant now answers you with ${model}.`,
  persona: (prompt) => `This room's assistant persona: ${prompt}`,
  confirmForget: 'Forget this conversation? The assistant will no longer remember it.',
  forgotten: 'Forgotten: the assistant no longer remembers this conversation.',
  sending: 'Sending…',
  waiting: 'Not sent yet: waiting for the connection…',
  failed: 'Not sent',
  retry: 'Retry',
  deleted: 'Message deleted',
  encryptedAttachment: 'An encrypted attachment: open this chat in a Matrix client to see it.',
  encryptedMessage: 'An encrypted message: open this chat in a Matrix client (Element) to read it.',
  you: 'You',
  messages: 'Messages',
  noConnection: 'No connection to the portal.',
  portalAnswered: (status) => `The portal answered ${status}.`,
};
