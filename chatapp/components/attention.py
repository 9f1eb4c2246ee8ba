"""Getting the user's attention: the unread total in the tab's title, a badge on the
favicon, desktop notifications and an optional beep for new messages.

Everything happens in the browser, from what the tab already holds: the rows of the
conversation list (their last message number `seq` and last message), how far the user
has read each, the muted conversations, the open conversation and the chosen status.

A message notifies (and beeps, if the user turned the sound on) when a row's `seq` grows
after the list was loaded (never for what a page load or a reconnect brings: Reflex's
`is_hydrated` is false while it arrives), written by someone else, in a conversation
that is not muted, while the user is not in Do not disturb, and not open in a visible
tab of this browser: this one, or another one (a visible tab keeps its open conversation
in localStorage, "chatapp.seeing"). Several tabs of one browser notify once: the first
to claim the message in localStorage does it ("chatapp.notified"), and the notification's
tag collapses any that slip through.

Notification permission is asked only from the status menu's item (a user gesture),
never on page load; the sound is a choice of the browser (localStorage "chatapp.sound").
"""

from __future__ import annotations

import reflex as rx

from chatapp.reflex_adapter.js import js_var, merge_data
from chatapp.states.app_state import AppState
from chatapp.states.chat_state import READ, ROWS, ChatState

_ATTENTION_JS = """
// One store per page, whichever module runs first (memoized components live in
// modules of their own): state that outlives a page's components (the message numbers
// already seen, the audio context, the favicon's original).
globalThis.chatappAttention ??= (() => {
  const SEEING = "chatapp.seeing";
  const CLAIMS = "chatapp.notified";
  const SOUND = "chatapp.sound";
  const SEEING_TTL = 2 * 60 * 1000;
  const CLAIM_TTL = 10 * 60 * 1000;
  const CLAIM_HOLD_MS = 5000;
  const MAX_PER_BATCH = 3;
  const readJson = (key) => {
    try {
      const value = JSON.parse(localStorage.getItem(key) ?? "{}");
      return value && typeof value === "object" ? value : {};
    } catch {
      return {};
    }
  };
  const writeJson = (key, value) => {
    try {
      if (Object.keys(value).length) localStorage.setItem(key, JSON.stringify(value));
      else localStorage.removeItem(key);
    } catch {}
  };
  const listeners = new Set();
  const A = {
    tabId: Math.random().toString(36).slice(2) + Date.now().toString(36),
    user: null,
    seqs: new Map(),
    primed: false,
    count: 0,
    navigate: null,

    // Preferences (for the status menu) ------------------------------------------------
    permission() {
      if (typeof window === "undefined" || !("Notification" in window)) return "unsupported";
      return Notification.permission;
    },
    soundOn() {
      try {
        return localStorage.getItem(SOUND) === "on";
      } catch {
        return false;
      }
    },
    subscribe(fn) {
      listeners.add(fn);
      A.watchPreferences();
      return () => listeners.delete(fn);
    },
    changed() {
      listeners.forEach((fn) => fn());
    },
    watchPreferences() {
      if (A.watching || typeof window === "undefined") return;
      A.watching = true;
      window.addEventListener("storage", (e) => {
        if (e.key === SOUND) A.changed();
      });
      // The user may allow or block notifications in the browser's settings meanwhile.
      navigator.permissions?.query({ name: "notifications" }).then(
        (status) => status.addEventListener("change", A.changed),
        () => {},
      );
    },
    async enableNotifications() {
      // Called from a click (a user gesture): the only place permission is asked.
      if (A.permission() === "default") {
        try {
          await Notification.requestPermission();
        } catch {}
      }
      A.changed();
    },
    toggleSound() {
      const on = !A.soundOn();
      try {
        localStorage.setItem(SOUND, on ? "on" : "off");
      } catch {}
      if (on) A.beep(); // a click: the audio context may start now
      A.changed();
    },
    beep() {
      try {
        const Context = window.AudioContext ?? window.webkitAudioContext;
        if (!Context) return;
        A.audio ??= new Context();
        const ctx = A.audio;
        if (ctx.state === "suspended") ctx.resume().catch(() => {});
        const t = ctx.currentTime + 0.01;
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.setValueAtTime(880, t);
        osc.frequency.setValueAtTime(1175, t + 0.09);
        gain.gain.setValueAtTime(0.0001, t);
        gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
        osc.connect(gain).connect(ctx.destination);
        // Between beeps the context is suspended: a running one keeps the audio device
        // (and a thread of the browser) busy for as long as the tab is open.
        osc.onended = () => ctx.suspend().catch(() => {});
        osc.start(t);
        osc.stop(t + 0.3);
      } catch {}
    },

    // Title and favicon -----------------------------------------------------------------
    showCount(n) {
      if (typeof document === "undefined") return;
      A.count = n;
      A.applyTitle();
      A.badge(n);
      if (!A.titleWatch && document.head) {
        // The page may set its title again (a navigation): put the count back.
        A.titleWatch = new MutationObserver(() => A.applyTitle());
        A.titleWatch.observe(document.head, { childList: true, subtree: true, characterData: true });
      }
    },
    applyTitle() {
      const base = document.title.replace(/^\\(\\d+\\+?\\) /, "") || "chatapp";
      const want = A.count > 0 ? `(${A.count}) ${base}` : base;
      if (document.title !== want) document.title = want;
    },
    baseImage() {
      A.image ??= new Promise((resolve) => {
        const img = new Image();
        img.onload = () => resolve(img.naturalWidth ? img : null);
        img.onerror = () => resolve(null);
        img.src = A.icon.href ?? "/favicon.ico";
      });
      return A.image;
    },
    badge(n) {
      let link = document.querySelector('link[rel~="icon"]');
      A.icon ??= { href: link?.getAttribute("href") ?? null, created: !link };
      if (n <= 0) {
        if (!link || !link.dataset.chatappBadge) return;
        if (A.icon.created) link.remove();
        else {
          link.setAttribute("href", A.icon.href);
          delete link.dataset.chatappBadge;
        }
        return;
      }
      if (!link) {
        link = document.createElement("link");
        link.rel = "icon";
        document.head.appendChild(link);
      }
      A.baseImage().then((img) => {
        if (A.count !== n) return; // a newer count is being drawn
        const size = 64;
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = size;
        const g = canvas.getContext("2d");
        if (img) g.drawImage(img, 0, 0, size, size);
        else {
          g.fillStyle = "#3e63dd";
          g.beginPath();
          g.arc(size / 2, size / 2, size / 2 - 2, 0, 2 * Math.PI);
          g.fill();
        }
        const r = size * 0.3;
        g.fillStyle = "#e5484d";
        g.beginPath();
        g.arc(size - r, r, r, 0, 2 * Math.PI);
        g.fill();
        g.fillStyle = "#ffffff";
        g.font = `bold ${Math.round(r * 1.2)}px sans-serif`;
        g.textAlign = "center";
        g.textBaseline = "middle";
        g.fillText(n > 9 ? "9+" : String(n), size - r, r + 1);
        link.setAttribute("href", canvas.toDataURL("image/png"));
        link.dataset.chatappBadge = String(n);
      });
    },

    // Which conversation a visible tab of this browser shows -----------------------------
    writeSeeing(cid) {
      const map = readJson(SEEING);
      const now = Date.now();
      for (const [tab, v] of Object.entries(map)) if (!(now - v?.at < SEEING_TTL)) delete map[tab];
      if (cid && document.visibilityState === "visible") map[A.tabId] = { cid, at: now };
      else delete map[A.tabId];
      writeJson(SEEING, map);
    },
    watchSeeing(cid) {
      const write = () => A.writeSeeing(cid);
      const clear = () => A.writeSeeing(0);
      write();
      const timer = setInterval(write, SEEING_TTL / 4);
      document.addEventListener("visibilitychange", write);
      window.addEventListener("pagehide", clear);
      window.addEventListener("pageshow", write);
      return () => {
        clearInterval(timer);
        document.removeEventListener("visibilitychange", write);
        window.removeEventListener("pagehide", clear);
        window.removeEventListener("pageshow", write);
        clear();
      };
    },
    seenElsewhere(cid) {
      const now = Date.now();
      return Object.entries(readJson(SEEING)).some(
        ([tab, v]) => tab !== A.tabId && v?.cid === cid && now - v.at < SEEING_TTL,
      );
    },
    claim(key) {
      const map = readJson(CLAIMS);
      const now = Date.now();
      for (const [k, at] of Object.entries(map)) if (!(now - at < CLAIM_TTL)) delete map[k];
      if (map[key]) return false;
      map[key] = now;
      writeJson(CLAIMS, map);
      return true;
    },
    take(key) {
      // Tabs in other processes see a localStorage write a little later: tabs handling
      // the same message at once would all find it unclaimed. A Web Lock held a while
      // settles those; the stored claim, the tabs that come later.
      return new Promise((resolve) => {
        if (!navigator.locks) return resolve(A.claim(key));
        navigator.locks
          .request(`chatapp.notified:${key}`, { ifAvailable: true }, (lock) => {
            resolve(lock !== null && A.claim(key));
            return lock && new Promise((done) => setTimeout(done, CLAIM_HOLD_MS));
          })
          .catch(() => resolve(A.claim(key)));
      });
    },

    // New messages ----------------------------------------------------------------------
    open(cid) {
      window.chatappComposer?.leave(cid);
      const path = "/c/" + cid;
      if (A.navigate) A.navigate(path);
      else window.location.assign(path);
    },
    check(rows, muted, currentId, status, me, hydrated) {
      if (A.user !== me) {
        A.user = me;
        A.seqs = new Map();
        A.primed = false;
      }
      const grown = [];
      for (const r of rows) {
        const before = A.seqs.get(r.id);
        A.seqs.set(r.id, r.seq);
        if (A.primed && hydrated && r.seq > (before ?? 0)) grown.push(r);
      }
      // What arrives with a page load or a reconnect is the starting point, not news.
      if (hydrated) A.primed = true;
      const news = grown.filter(
        (r) =>
          r.preview_author_id !== me &&
          r.preview_kind === "text" &&
          !r.preview_deleted &&
          r.unread > 0 &&
          !muted.has(r.id) &&
          status !== "dnd" &&
          !(r.id === currentId && document.visibilityState === "visible") &&
          !A.seenElsewhere(r.id),
      );
      if (news.length) A.announce(news.slice(0, MAX_PER_BATCH));
    },
    async announce(news) {
      let beep = false;
      for (const r of news) {
        if (!(await A.take(`${r.id}:${r.seq}`))) continue; // another tab of this browser has it
        beep = true;
        if (A.permission() === "granted") A.notify(r);
      }
      if (beep && A.soundOn()) A.beep();
    },
    notify(r) {
      const cid = r.id;
      const title = r.kind === "group" && r.preview_author ? `${r.preview_author} in ${r.title}` : r.title;
      try {
        const note = new Notification(title, { body: r.preview, tag: `chatapp-${cid}` });
        note.onclick = (e) => {
          e?.preventDefault?.();
          window.focus();
          A.open(cid);
          note.close();
        };
      } catch {}
    },
  };
  return A;
})();

function useChatappAttention(rows, readOf, mutedIds, currentId, status, me, hydrated) {
  const navigate = useNavigate();
  const A = globalThis.chatappAttention;
  A.navigate = navigate;
  const muted = new Set(mutedIds ?? []);
  const listed = rows.map((r) => ({ ...r, unread: Math.max(0, r.seq - (readOf(r.id) ?? 0)) }));
  const total = listed.reduce((sum, r) => sum + (muted.has(r.id) ? 0 : r.unread), 0);
  useEffect(() => A.showCount(total), [total]);
  useEffect(() => () => A.showCount(0), []);
  useEffect(() => A.watchSeeing(currentId), [currentId]);
  useEffect(() => A.check(listed, muted, currentId, status, me, hydrated));
}

function useChatappPreferences() {
  const [prefs, setPrefs] = useState(null);
  useEffect(() => {
    const A = globalThis.chatappAttention;
    const read = () => setPrefs({ notify: A.permission(), sound: A.soundOn() });
    read();
    return A.subscribe(read);
  }, []);
  return prefs;
}

// The status menu's notification item: what it does in this browser.
function ChatappNotifyLabel() {
  const state = useChatappPreferences()?.notify;
  if (state === "granted") return "Desktop notifications on";
  if (state === "denied") return "Desktop notifications blocked by the browser";
  if (state === "unsupported") return "Desktop notifications not supported";
  return "Enable desktop notifications";
}

// Its children while the notification sound is on (the menu's check mark).
function ChatappIfSound({ children }) {
  return useChatappPreferences()?.sound ? children : null;
}
globalThis.ChatappNotifyLabel = ChatappNotifyLabel;
globalThis.ChatappIfSound = ChatappIfSound;
"""

# Every component bringing the script brings what it uses.
_IMPORTS = {
    "react": [rx.ImportVar(tag="useEffect"), rx.ImportVar(tag="useState")],
    "react-router": [rx.ImportVar(tag="useNavigate")],
}


class Attention(rx.Fragment):
    """Renders nothing; keeps the title, favicon, notifications and sound up to date."""

    def add_imports(self) -> dict:
        return _IMPORTS

    def add_custom_code(self) -> list[str]:
        return [_ATTENTION_JS]

    def add_hooks(self) -> list[str | rx.Var]:
        values, data = ROWS.js_values()
        read, read_data = READ.js_entry("id")
        used = (ChatState.muted_ids, ChatState.current_id, AppState.chosen_status, AppState.user_id)
        muted, cid, status, me = used
        hydrated = rx.State.is_hydrated
        return [
            js_var(
                f"useChatappAttention({values}, (id) => {read}, {muted}, {cid}, {status}, {me}, {hydrated})",
                None,
                *used,
                hydrated,
                data=merge_data(data, read_data),
            )
        ]


class NotifyLabel(rx.Component):
    """The label of the status menu's notification item (it depends on the browser)."""

    tag = "globalThis.ChatappNotifyLabel"

    def add_imports(self) -> dict:
        return _IMPORTS

    def add_custom_code(self) -> list[str]:
        return [_ATTENTION_JS]


class IfSound(rx.Component):
    """Its children while the notification sound is on."""

    tag = "globalThis.ChatappIfSound"

    def add_imports(self) -> dict:
        return _IMPORTS

    def add_custom_code(self) -> list[str]:
        return [_ATTENTION_JS]


def _call(method: str) -> rx.Var:
    """A click handler calling the store's `method` at once, in the click (a user
    gesture, which asking permission and starting audio need), not through the queue of
    events."""
    return rx.vars.FunctionStringVar.create(f"(() => globalThis.chatappAttention?.{method}())")


def attention() -> rx.Component:
    """The attention hook of a signed-in page."""
    return Attention.create()


def notifications_item() -> rx.Component:
    """The status menu's "Enable desktop notifications" item (asks the browser's
    permission: a click is the only place it is asked), showing what the browser allows."""
    return rx.menu.item(
        rx.hstack(rx.icon("bell", size=14), NotifyLabel.create(), align="center"),
        on_click=_call("enableNotifications"),
        id="notifications",
    )


def sound_item() -> rx.Component:
    """The status menu's "Notification sound" switch (this browser's choice)."""
    return rx.menu.item(
        rx.hstack(
            rx.box(IfSound.create(rx.icon("check", size=14)), width="14px", height="14px"),
            "Notification sound",
            align="center",
        ),
        on_click=_call("toggleSound"),
        id="notification-sound",
    )
