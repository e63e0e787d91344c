// The upstream list the Node bench peers take on their command line, and the smooth weighted
// round-robin (nginx's algorithm) they pick with. Bench peers only.

/** "host:port:weight,host:port:weight" → [{ origin, weight }]. */
export function parseUpstreams(spec) {
  return spec.split(',').map((s) => {
    const [host, port, weight] = s.split(':');
    return { origin: `http://${host}:${port}`, weight: Number(weight) };
  });
}

/** Returns pick(): the next item by smooth WRR; `items` have a `weight`. */
export function smoothRoundRobin(items) {
  const state = items.map((item) => ({ item, current: 0 }));
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  return () => {
    let best;
    for (const s of state) {
      s.current += s.item.weight;
      if (best === undefined || s.current > best.current) best = s;
    }
    best.current -= total;
    return best.item;
  };
}
