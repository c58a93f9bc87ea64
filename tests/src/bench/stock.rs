//! The stock Automerge sync protocol run doc by doc on the benchmark's
//! documents: the baseline Gridwork's one-round-trip protocol is measured
//! against, including what the stock protocol spends on docs that did not
//! change (it has no list of changed docs).

use super::*;

/// One round of the stock protocol on one doc: the phone's message (if any)
/// and the server's answer (if any), encoded.
pub(super) type Round = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Both peers' persisted sync states (`State::encode`) of each doc:
/// (the phone's state for the server, the server's state for the phone).
pub(super) type Persisted = BTreeMap<String, (Vec<u8>, Vec<u8>)>;

/// The stock Automerge sync protocol on one doc: request/response rounds,
/// the phone speaking first, until neither side has anything to send.
pub(super) struct Exchange {
    /// Encoded messages per round: (phone → server, server → phone).
    pub(super) rounds: Vec<Round>,
    /// Thread CPU time spent in the server side's receive + generate.
    pub(super) server_cpu_ns: u64,
    /// Both sides ended with the same heads.
    pub(super) converged: bool,
}

impl Exchange {
    pub(super) fn messages(&self) -> usize {
        self.rounds
            .iter()
            .map(|(u, d)| usize::from(u.is_some()) + usize::from(d.is_some()))
            .sum()
    }
}

pub(super) fn exchange(
    phone: &mut Automerge,
    phone_state: &mut State,
    server: &mut Automerge,
    server_state: &mut State,
) -> Res<Exchange> {
    let mut rounds = Vec::new();
    let mut server_cpu_ns = 0;
    for _ in 0..MAX_STOCK_ROUNDS {
        let up = phone
            .generate_sync_message(phone_state)
            .map(Message::encode);
        let cpu = thread_cpu_ns();
        if let Some(bytes) = &up {
            server.receive_sync_message(server_state, Message::decode(bytes)?)?;
        }
        let down = server
            .generate_sync_message(server_state)
            .map(Message::encode);
        server_cpu_ns += cpu
            .zip(thread_cpu_ns())
            .map_or(0, |(a, b)| b.saturating_sub(a));
        if let Some(bytes) = &down {
            phone.receive_sync_message(phone_state, Message::decode(bytes)?)?;
        }
        if up.is_none() && down.is_none() {
            let mut a = phone.get_heads();
            let mut b = server.get_heads();
            a.sort();
            b.sort();
            return Ok(Exchange {
                rounds,
                server_cpu_ns,
                converged: a == b,
            });
        }
        rounds.push((up, down));
    }
    Err(format!("stock sync did not finish in {MAX_STOCK_ROUNDS} rounds").into())
}

/// The stock protocol's cost over a set of docs.
#[derive(Debug, Default, Serialize)]
pub(super) struct StockFigures {
    pub(super) docs: usize,
    pub(super) messages: usize,
    pub(super) raw_up: u64,
    pub(super) raw_down: u64,
    /// Deflate of all messages of a direction concatenated (the most
    /// favourable compression; no doc ids or framing counted).
    pub(super) deflated_up: u64,
    pub(super) deflated_down: u64,
    /// Deflate per batched HTTP body (one body per round and direction).
    pub(super) deflated_bodies_up: u64,
    pub(super) deflated_bodies_down: u64,
    /// Docs by number of messages exchanged.
    pub(super) messages_per_doc: BTreeMap<usize, usize>,
    /// HTTP round trips with all docs batched per request: the max over
    /// docs of ceil(messages / 2).
    pub(super) round_trips: usize,
    /// Round trips of the request/response simulation (max over docs).
    pub(super) simulated_round_trips: usize,
    /// Docs whose two sides did not end with the same heads.
    pub(super) unconverged: usize,
    /// Server side's Automerge work only (receive + generate, in-process,
    /// docs already loaded).
    pub(super) server_cpu_ms: f64,
}

impl StockFigures {
    pub(super) fn of(exchanges: &[&Exchange]) -> Res<StockFigures> {
        let mut f = StockFigures {
            docs: exchanges.len(),
            ..StockFigures::default()
        };
        let max_rounds = exchanges.iter().map(|e| e.rounds.len()).max().unwrap_or(0);
        let mut bodies_up = vec![Vec::new(); max_rounds];
        let mut bodies_down = vec![Vec::new(); max_rounds];
        for e in exchanges {
            let n = e.messages();
            f.messages += n;
            *f.messages_per_doc.entry(n).or_default() += 1;
            f.round_trips = f.round_trips.max(n.div_ceil(2));
            f.simulated_round_trips = f.simulated_round_trips.max(e.rounds.len());
            f.unconverged += usize::from(!e.converged);
            f.server_cpu_ms += e.server_cpu_ns as f64 / 1e6;
            for (i, (up, down)) in e.rounds.iter().enumerate() {
                if let Some(m) = up {
                    f.raw_up += m.len() as u64;
                    bodies_up[i].push(m.as_slice());
                }
                if let Some(m) = down {
                    f.raw_down += m.len() as u64;
                    bodies_down[i].push(m.as_slice());
                }
            }
        }
        f.deflated_up = deflate_len(bodies_up.iter().flatten().copied())?;
        f.deflated_down = deflate_len(bodies_down.iter().flatten().copied())?;
        for body in &bodies_up {
            f.deflated_bodies_up += deflate_len(body.iter().copied())?;
        }
        for body in &bodies_down {
            f.deflated_bodies_down += deflate_len(body.iter().copied())?;
        }
        Ok(f)
    }

    pub(super) fn raw(&self) -> u64 {
        self.raw_up + self.raw_down
    }

    pub(super) fn deflated(&self) -> u64 {
        self.deflated_up + self.deflated_down
    }

    pub(super) fn per_doc(&self) -> String {
        self.messages_per_doc
            .iter()
            .map(|(m, d)| format!("{m} msgs: {d} docs"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A doc of `store` loaded as Automerge, or an empty doc when it has none.
pub(super) fn load(
    store: &Store,
    heads: &BTreeMap<String, Vec<String>>,
    id: &str,
) -> Res<Automerge> {
    if !heads.contains_key(id) {
        return Ok(Automerge::new());
    }
    Ok(Automerge::load(&store.export_doc(&DocId(id.to_string()))?)?)
}

/// Both replicas of one doc: the phone's and the server's (P1's, which holds
/// the server's state of G1 right after P1 synced). Equal heads load once.
pub(super) fn replicas(
    phone: &Store,
    phone_heads: &BTreeMap<String, Vec<String>>,
    server: &Store,
    server_heads: &BTreeMap<String, Vec<String>>,
    id: &str,
) -> Res<(Automerge, Automerge)> {
    let a = load(phone, phone_heads, id)?;
    let b = if phone_heads.get(id) == server_heads.get(id) {
        a.clone()
    } else {
        load(server, server_heads, id)?
    };
    Ok((a, b))
}

/// Run the stock protocol to completion on the pre-day docs and keep the
/// sync states as each peer would persist them (`State::encode`); weigh the
/// phone's whole docs on the way.
pub(super) fn persisted_states(phone: &Store, server: &Store) -> Res<(Persisted, WholeDocs)> {
    let phone_heads = heads_of(phone)?;
    let server_heads = heads_of(server)?;
    let ids: BTreeSet<&String> = phone_heads.keys().chain(server_heads.keys()).collect();
    let mut states = BTreeMap::new();
    let mut whole = WholeDocsAcc::new();
    for id in ids {
        let (mut a, mut b) = replicas(phone, &phone_heads, server, &server_heads, id)?;
        whole.add(&a)?;
        let (mut sa, mut sb) = (State::new(), State::new());
        let e = exchange(&mut a, &mut sa, &mut b, &mut sb)?;
        if !e.converged {
            return Err(format!("pre-day stock sync of {id} did not converge").into());
        }
        states.insert(id.clone(), (sa.encode(), sb.encode()));
    }
    Ok((states, whole.finish()?))
}

/// The stock protocol over every doc after the day, from the persisted
/// states: all docs, the docs either side changed, and the others.
pub(super) struct StockDay {
    pub(super) all: StockFigures,
    pub(super) changed: StockFigures,
    pub(super) unchanged: StockFigures,
}

pub(super) fn stock_day(
    phone: &Store,
    server: &Store,
    pre_day: &BTreeMap<String, Vec<String>>,
    states: &Persisted,
) -> Res<StockDay> {
    let phone_heads = heads_of(phone)?;
    let server_heads = heads_of(server)?;
    let ids: BTreeSet<&String> = phone_heads.keys().chain(server_heads.keys()).collect();
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    for id in ids {
        let (mut a, mut b) = replicas(phone, &phone_heads, server, &server_heads, id)?;
        let (mut sa, mut sb) = match states.get(id) {
            Some((sa, sb)) => (State::decode(sa)?, State::decode(sb)?),
            None => (State::new(), State::new()),
        };
        let e = exchange(&mut a, &mut sa, &mut b, &mut sb)?;
        let before = pre_day.get(id);
        if before.is_some() && phone_heads.get(id) == before && server_heads.get(id) == before {
            unchanged.push(e);
        } else {
            changed.push(e);
        }
    }
    let all: Vec<&Exchange> = changed.iter().chain(&unchanged).collect();
    Ok(StockDay {
        all: StockFigures::of(&all)?,
        changed: StockFigures::of(&changed.iter().collect::<Vec<_>>())?,
        unchanged: StockFigures::of(&unchanged.iter().collect::<Vec<_>>())?,
    })
}
