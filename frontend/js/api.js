// REST client: JSON in and out; every failure is an ApiError carrying the server's code.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message || code);
    Object.assign(this, {status, code, retryAfter}); // retryAfter: seconds
  }
}

export function createApi(base) {
  let token = '';

  // raw: a success answer's text as {text} (a CSV report), not JSON
  async function call(method, path, body, {auth = token, keepalive = false, raw = false} = {}) {
    const headers = body === undefined ? {} : {'Content-Type': 'application/json'};
    if (auth) headers.Authorization = 'Bearer ' + auth;
    let res;
    try {
      res = await fetch(base.replace(/\/$/, '') + path, {method, headers, keepalive,
        signal: AbortSignal.timeout(20e3), // a request that hangs must not block what waits on it
        body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      throw new ApiError(0, 'network_error', e.message);
    }
    const data = res.status === 204 ? {} : raw && res.ok ? {text: await res.text()} : await res.json().catch(() => ({}));
    if (res.ok) return data;
    const err = data.error || {};
    throw Object.assign(new ApiError(res.status, err.code || 'http_' + res.status, err.message,
      +res.headers.get('Retry-After')), {startsAt: err.startsAt}); // meeting_not_started
  }

  const m = (mid) => '/meetings/' + encodeURIComponent(mid);
  return {
    call, // (method, path, body): the in-room tools build their own paths
    path: m,
    setToken(t) { token = t; },
    createMeeting: (body) => call('POST', '/meetings', body),
    getMeeting: (mid) => call('GET', m(mid)),
    join: (mid, body) => call('POST', m(mid) + '/join', body),
    postTicket: (mid, ticket) => call('POST', m(mid) + '/tickets', ticket), // {to, kind, data, key}
    tickets: (mid, after) => call('GET', m(mid) + '/tickets' + (after ? '?after=' + after : '')),
    participants: (mid) => call('GET', m(mid) + '/participants'),
    updateMe: (mid, state) => call('PATCH', m(mid) + '/participants/me', state),
    leave: (mid, auth = token, keepalive = false) =>
      call('DELETE', m(mid) + '/participants/me', undefined, {auth, keepalive}),
  };
}
