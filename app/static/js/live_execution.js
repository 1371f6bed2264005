// The live execution view (templates/executions/_live.html): follows an execution's events over
// its websocket (app/web/ws.py), updates the node list and the elapsed time, and once the server
// sends the stored result swaps the finished page in.

// A lost connection without a result is retried by reloading the block, which starts a new view;
// the pause keeps a proxy that refuses websockets from turning this into a busy loop.
const RETRY_AFTER_MS = 2000;
const TICK_MS = 100;

function formatDuration(ms) {
  // Mirrors the `duration` template filter, so the numbers do not jump when the page is swapped.
  ms = Math.max(0, Math.round(ms));
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function itemsText(counts) {
  const label = (n) => `${n} item${n === 1 ? "" : "s"}`;
  if (counts.length <= 1) return label(counts[0] || 0);
  return counts.map((n, i) => `output ${i + 1}: ${label(n)}`).join(" · ");
}

function socketUrl(address) {
  // Flask builds websocket URLs absolute from the request it saw, which behind a TLS proxy says
  // ws:// on an https:// page; only the path is trusted, scheme and host come from this page.
  const url = new URL(new URL(address, window.location.href).pathname, window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

class LiveExecution {
  constructor(section) {
    this.section = section;
    this.list = section.querySelector(".live-nodes");
    this.state = section.querySelector("[data-live-state]");
    this.elapsed = section.querySelector("[data-live-elapsed]");
    this.rows = new Map([...section.querySelectorAll("[data-node]")].map((row) => [row.dataset.node, row]));
    const known = section.dataset.elapsedMs;
    this.elapsedBase = known === "" ? null : Number(known);
    this.elapsedSince = performance.now();
    this.resultStored = false;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.socket = new WebSocket(socketUrl(section.dataset.liveExecution));
    this.socket.addEventListener("message", (message) => this.handle(JSON.parse(message.data)));
    this.socket.addEventListener("close", () => this.closed());
  }

  tick() {
    if (this.elapsedBase !== null) {
      this.elapsed.textContent = formatDuration(this.elapsedBase + performance.now() - this.elapsedSince);
    }
  }

  stopClock(durationMs) {
    clearInterval(this.timer);
    if (durationMs !== undefined && durationMs !== null) this.elapsed.textContent = formatDuration(durationMs);
  }

  row(name) {
    let row = this.rows.get(name);
    if (!row) {
      // A node missing from the snapshot's list (it cannot happen today; stay correct anyway).
      row = document.createElement("li");
      row.dataset.node = name;
      row.innerHTML = '<span class="badge status" data-node-status></span> <span class="strong"></span> <span class="muted" data-node-detail></span>';
      row.querySelector(".strong").textContent = name;
      this.list.append(row);
      this.rows.set(name, row);
    }
    return row;
  }

  setNode(name, status, label, detail) {
    const row = this.row(name);
    const badge = row.querySelector("[data-node-status]");
    badge.className = `badge status status-${status}`;
    badge.textContent = label;
    if (status === "running") badge.insertAdjacentHTML("afterbegin", '<span class="spinner" aria-hidden="true"></span>');
    row.querySelector("[data-node-detail]").textContent = detail;
    row.dataset.status = status;
  }

  handle(event) {
    const run = event.runIndex > 0 ? `run ${event.runIndex + 1}` : "";
    switch (event.type) {
      case "executionStarted":
        this.state.textContent = "Running…";
        if (this.elapsedBase === null) {
          this.elapsedBase = 0;
          this.elapsedSince = performance.now();
        }
        break;
      case "nodeStarted":
        this.setNode(event.node, "running", "running", run);
        break;
      case "nodeFinished": {
        const parts = [run, itemsText(event.itemCounts || []), formatDuration(event.durationMs || 0)];
        if (event.error && event.error.message) parts.push(event.error.message);
        this.setNode(event.node, event.status, event.status, parts.filter(Boolean).join(" · "));
        break;
      }
      case "executionFinished":
        this.state.textContent = `Finished: ${event.status}. Loading the result…`;
        this.stopClock(event.durationMs);
        break;
      case "executionResult":
        this.resultStored = true;
        this.stopClock(event.durationMs);
        break;
    }
  }

  closed() {
    clearInterval(this.timer);
    setTimeout(() => this.refresh(), this.resultStored ? 0 : RETRY_AFTER_MS);
  }

  refresh() {
    if (!this.section.isConnected) return;
    window.htmx.ajax("GET", this.section.dataset.refreshUrl, { target: "#execution", swap: "outerHTML" });
  }
}

function startAll(root) {
  const sections = root.querySelectorAll ? root.querySelectorAll("[data-live-execution]") : [];
  for (const section of sections) {
    if (section.dataset.liveStarted) continue;
    section.dataset.liveStarted = "true";
    new LiveExecution(section);
  }
}

// The module runs once per page; blocks swapped in later by htmx are picked up on htmx:load.
startAll(document);
document.addEventListener("htmx:load", (event) => startAll(event.target));
