// The replay page's browser side: playback, the 3D view and the shareable URL, without a
// round trip to the server for each frame.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  replay: {
    // One tick of playback: the cursor advances by the tick's time times the speed and stops
    // at the end.
    // The step is the wall time since the last tick (not the nominal interval), so a busy
    // browser plays at the chosen speed, in coarser steps.
    tick: function (_n, playing, speed, value, end, tickMs) {
      var replay = window.dash_clientside.replay;
      if (!playing) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
      var now = performance.now();
      var elapsed = replay.lastTick ? now - replay.lastTick : tickMs;
      replay.lastTick = now;
      // On a grid of 10 ms, so that the URL (in hundredths) names the very instant shown.
      var next = Math.round((value + (Math.min(elapsed, 10 * tickMs) / 1000) * speed) * 100) / 100;
      if (next >= end) { return [end, false]; }
      // Playing stays as it is: writing it again would restart the interval's timer.
      return [next, window.dash_clientside.no_update];
    },

    // What the server is asked to draw: every cursor move while paused, at most a few a
    // second while playing (each draws the line and moves four charts' cursors), and the
    // last one when playback stops.
    cursor: function (value, playing, everyMs) {
      var replay = window.dash_clientside.replay;
      var now = performance.now();
      if (playing && replay.lastSent && now - replay.lastSent < everyMs) {
        return window.dash_clientside.no_update;
      }
      replay.lastSent = playing ? now : 0;
      return value;
    },

    // The cursor on every timeline chart: a thin element laid over the plot and moved by
    // its pixel position, so that moving it redraws nothing of the chart itself (a plotly
    // shape would redraw the whole chart, 100 ms and more for a long Gantt).
    cursors: function (value, base) {
      var replay = window.dash_clientside.replay;
      replay.cursorAt = value / base.per;
      var waiting = 0;
      ["replay-gantt", "replay-wip", "replay-levels", "replay-tags"].forEach(function (id) {
        var graph = document.querySelector("#" + id + " .js-plotly-plot");
        if (graph && graph._fullLayout) { replay.placeCursor(graph); } else { waiting += 1; }
      });
      // Charts still being drawn when the page opens get their cursor a moment later.
      if (waiting && (replay.retries = (replay.retries || 0) + 1) < 50) {
        setTimeout(function () { replay.cursors(value, base); }, 200);
      } else if (!waiting) { replay.retries = 0; }
      return window.dash_clientside.no_update;
    },

    placeCursor: function (graph) {
      var replay = window.dash_clientside.replay;
      var full = graph._fullLayout;
      if (!full || !full.xaxis || replay.cursorAt === undefined) { return; }
      var line = graph.querySelector(":scope > .replay-cursor");
      if (!line) {
        line = document.createElement("div");
        line.className = "replay-cursor";
        graph.appendChild(line);
        // Zooming or panning the chart moves the cursor with the axis.
        graph.on("plotly_relayout", function () { replay.placeCursor(graph); });
        graph.on("plotly_afterplot", function () { replay.placeCursor(graph); });
      }
      var axis = full.xaxis, size = full._size;
      var x = axis._offset + axis.l2p(replay.cursorAt);
      var inside = x >= axis._offset && x <= axis._offset + axis._length;
      line.style.display = inside ? "block" : "none";
      line.style.left = x + "px";
      line.style.top = size.t + "px";
      line.style.height = size.h + "px";
    },

    playLabel: function (playing) {
      return [playing ? "❚❚ Pause" : "▶ Play", !playing];
    },

    toggle: function (_clicks, playing, value, end) {
      window.dash_clientside.replay.lastTick = performance.now();
      // Play from the start again once the end is reached.
      if (!playing && value >= end) { return [true, 0]; }
      return [!playing, window.dash_clientside.no_update];
    },

    clock: function (value, drag) {
      var t = (drag === undefined || drag === null) ? value : drag;
      return window.dash_clientside.replay.format(t);
    },

    format: function (t) {
      t = Math.max(0, t || 0);
      var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
      var text = (h > 0 ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" +
        (s < 10 ? "0" : "") + s.toFixed(1);
      return "t = " + text + "  (" + t.toFixed(1) + " s)";
    },

    // The URL says what is shown, so it can be shared: run, replication, time, tags.
    url: function (value, tags, base) {
      var query = "?rep=" + base.rep + "&t=" + (Math.round(value * 100) / 100);
      if (tags && tags.length) { query += "&tags=" + tags.map(encodeURIComponent).join(","); }
      window.history.replaceState(null, "", base.path + query);
      return query;
    },

    // Where a body was at time t: its last recorded position (bodies are posed only while
    // something moves), or null before its first.
    at: function (body, t) {
      var times = body.t, lo = 0, hi = times.length - 1;
      if (hi < 0 || t < times[0]) { return null; }
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (times[mid] <= t) { lo = mid; } else { hi = mid - 1; }
      }
      return body.xyz[lo];
    },

    // The 3D figure at time t: the still traces as sent, then a line per robot (its links
    // base to tip), the single bodies (paddles) and the parts still in the line.
    scene: function (value, poses, figure) {
      if (!poses || !figure) { return window.dash_clientside.no_update; }
      var replay = window.dash_clientside.replay;
      var still = figure.data.filter(function (trace) { return trace.meta !== "moving"; });
      var moving = [];
      var parts = {x: [], y: [], z: [], text: []};
      var singles = {x: [], y: [], z: [], text: []};
      Object.keys(poses.groups).forEach(function (group) {
        var ids = poses.groups[group];
        if (group === "part") {
          ids.forEach(function (id) {
            var gone = poses.gone[id];
            if (gone !== undefined && value >= gone) { return; }
            var p = replay.at(poses.bodies[id], value);
            if (p) { parts.x.push(p[0]); parts.y.push(p[1]); parts.z.push(p[2]); parts.text.push(id); }
          });
          return;
        }
        var chain = {x: [], y: [], z: []};
        ids.forEach(function (id) {
          var p = replay.at(poses.bodies[id], value) || poses.bodies[id].xyz[0];
          chain.x.push(p[0]); chain.y.push(p[1]); chain.z.push(p[2]);
        });
        if (ids.length > 1) {
          moving.push({type: "scatter3d", mode: "lines+markers", meta: "moving", name: group,
            x: chain.x, y: chain.y, z: chain.z, hoverinfo: "name",
            line: {color: "#e36209", width: 9}, marker: {size: 4, color: "#1b1f24"}});
        } else {
          singles.x.push(chain.x[0]); singles.y.push(chain.y[0]); singles.z.push(chain.z[0]);
          singles.text.push(ids[0]);
        }
      });
      moving.push({type: "scatter3d", mode: "markers", meta: "moving", name: "pushers",
        x: singles.x, y: singles.y, z: singles.z, text: singles.text, hoverinfo: "text",
        marker: {size: 7, symbol: "square", color: "#8250df"}});
      moving.push({type: "scatter3d", mode: "markers", meta: "moving", name: "parts",
        x: parts.x, y: parts.y, z: parts.z, text: parts.text, hoverinfo: "text",
        marker: {size: 6, symbol: "square", color: "#0b5cad", line: {color: "#1b1f24", width: 1}}});
      return {data: still.concat(moving), layout: figure.layout};
    }
  }
});
