// The replay page's browser side: playback, the 3D view and the shareable URL, without a
// round trip to the server for each frame.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  replay: {
    // One tick of playback: the cursor advances by the tick's time times the speed and stops
    // at the end.
    tick: function (_n, playing, speed, value, end, tickMs) {
      if (!playing) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
      var next = value + (tickMs / 1000) * speed;
      if (next >= end) { return [end, false]; }
      return [next, true];
    },

    playLabel: function (playing) {
      return [playing ? "❚❚ Pause" : "▶ Play", !playing];
    },

    toggle: function (_clicks, playing, value, end) {
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
