// Calls to the portal's chat API: JSON in and out, the CSRF token in a header.

import { text } from './strings.js';

const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
    // Worth trying again later: no answer at all, the homeserver unreachable, or too fast.
    this.retryable = status === 0 || status === 429 || status >= 500;
  }
}

export async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(text.noConnection, 0);
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = {};
  }
  if (!response.ok) {
    throw new ApiError(data.error || text.portalAnswered(response.status), response.status);
  }
  return data;
}

export const roomPath = (roomId, action) => `/chat/api/rooms/${encodeURIComponent(roomId)}/${action}`;
