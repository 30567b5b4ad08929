// The meeting's WebSocket: ping keep-alive, reconnect with backoff, tickets delivered once and
// in order. Ticket ids are a per-recipient sequence, so a gap means a missed ticket: replay
// with GET .../tickets?after=<last id>, as after every (re)connect.

import {ApiError} from './api.js';

const FATAL = /^(participant_gone|token_|wrong_meeting|meeting_)/; // we are not in the meeting
const pad = (n) => String(n).padStart(12, '0');
const STORE_WAIT = 5e3; // a ticket sent on the socket with no reply by then is sent again

export class Signaling {
  // replay(after) -> {tickets}; to: {onTicket(t), onEvent(msg), onStatus('open'|'reconnecting'), onFatal(code)}
  constructor(url, token, replay, to) {
    Object.assign(this, {url, token, replay, to, last: 0, pending: new Map(), attempt: 0});
    this.sent = new Map(); // key -> {resolve, reject, timer}: tickets sent on the socket, unanswered
    this.online = () => this.isOpen() || this.reconnect();
    addEventListener('online', this.online);
  }

  start() { // resolves after the first open and its replay
    return new Promise((resolve) => { this.ready = resolve; this.connect(); });
  }

  isOpen() { return this.ws?.readyState === 1; }

  connect() {
    const ws = this.ws = new WebSocket(this.url + '?token=' + encodeURIComponent(this.token));
    ws.onopen = () => {
      this.attempt = 0;
      // API Gateway drops sockets idle for 10 min, and every socket at 2 h
      this.timers = [setInterval(() => this.ping(), 270e3), setTimeout(() => this.reconnect(), 6600e3)];
      this.to.onStatus('open');
      this.catchUp().finally(() => { this.ready?.(); this.ready = null; });
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.event === 'pong') clearTimeout(this.pongTimer);
      else if (msg.event === 'ticket') this.receive(msg.ticket);
      else if (msg.event === 'ticket-stored') this.settle(msg.key, null, msg.ticket);
      else if (msg.event === 'error') {
        const {code, message} = msg.error || {};
        this.settle(msg.key, new ApiError(0, code || 'internal_error', message, msg.retryAfter || 0));
      } else this.to.onEvent(msg);
    };
    ws.onclose = () => {
      this.socketDone();
      this.to.onStatus('reconnecting');
      this.retryTimer = setTimeout(async () => {
        // after repeated failures, ask the REST API whether we are still in the meeting
        if (this.attempt > 2) await this.replay(pad(this.last)).catch((e) => this.fatal(e));
        if (!this.closed) this.connect();
      }, Math.min(15e3, 500 * 2 ** this.attempt++) * (0.6 + Math.random() * 0.4));
    };
  }

  fatal(e) {
    if (!FATAL.test(e.code)) return;
    this.close();
    this.to.onFatal(e.code);
  }

  ping() {
    this.ws.send('{"action":"ping"}');
    clearTimeout(this.pongTimer);
    this.pongTimer = setTimeout(() => this.reconnect(), 20e3);
  }

  reconnect() {
    this.socketDone();
    clearTimeout(this.retryTimer);
    this.ws.onclose = null;
    this.ws.close();
    this.attempt = 0;
    this.to.onStatus('reconnecting');
    this.connect();
  }

  // A ticket on the open socket ({to, kind, data, key}): resolves with the stored ticket when
  // the server says `ticket-stored`, rejects with its error, or with network_error when the
  // socket closes or no reply comes; the caller sends it again with the same key (stored once).
  sendTicket(ticket) {
    return new Promise((resolve, reject) => {
      if (!this.isOpen()) return reject(new ApiError(0, 'network_error', 'socket not open'));
      const timer = setTimeout(() => this.settle(ticket.key, new ApiError(0, 'network_error', 'no reply')),
        STORE_WAIT);
      this.sent.set(ticket.key, {resolve, reject, timer});
      this.ws.send(JSON.stringify({action: 'ticket', ...ticket}));
    });
  }

  settle(key, error, ticket) {
    const waiting = this.sent.get(key);
    if (!waiting) return;
    this.sent.delete(key);
    clearTimeout(waiting.timer);
    if (error) waiting.reject(error); else waiting.resolve({ticket});
  }

  receive(t) {
    if (+t.id <= this.last) return; // duplicate
    this.pending.set(+t.id, t);
    this.drain();
    if (this.pending.size) this.catchUp();
  }

  drain() {
    for (let t; (t = this.pending.get(this.last + 1));) {
      this.pending.delete(++this.last);
      try { this.to.onTicket(t); } catch (e) { console.warn('ticket', e); }
    }
    for (const n of this.pending.keys()) if (n <= this.last) this.pending.delete(n);
    if (!this.pending.size) this.gapSince = 0;
  }

  catchUp() { // one replay at a time; asking during one runs another after it
    if (this.catching) return (this.again = true);
    return (this.catching = (async () => {
      do {
        this.again = false;
        // page on from the highest id seen: past a gap, `after=<last>` returns the same page
        let after = this.last;
        let page;
        let from;
        do {
          from = after;
          page = (await this.replay(after ? pad(after) : '')).tickets;
          for (const t of page) {
            if (+t.id > this.last) this.pending.set(+t.id, t);
            after = Math.max(after, +t.id);
          }
          this.drain();
        } while (page.length >= 200 && after > from);
        if (this.pending.size) {
          // ids are taken before the write, so a gap may still fill itself; after 5 s, skip it
          this.gapSince ||= Date.now();
          if (Date.now() - this.gapSince > 5e3) {
            this.last = Math.min(...this.pending.keys()) - 1;
            this.drain();
          } else {
            await new Promise((r) => setTimeout(r, 1e3));
            this.again = true;
          }
        }
      } while (this.again && !this.closed);
    })().catch((e) => this.fatal(e)).finally(() => { this.catching = null; }));
  }

  // This socket is closed or being replaced: its timers stop, and tickets waiting for its
  // reply fail with network_error, so their senders send them again (same key).
  socketDone() {
    (this.timers || []).forEach(clearTimeout); // also clears intervals
    clearTimeout(this.pongTimer);
    for (const key of [...this.sent.keys()]) this.settle(key, new ApiError(0, 'network_error', 'socket closed'));
  }

  close() {
    this.closed = true;
    this.socketDone();
    clearTimeout(this.retryTimer);
    removeEventListener('online', this.online);
    this.ws.onclose = null;
    this.ws.close();
  }
}
