//! A model test of the lock protocol: the machines of `protocol.rs` against an in-memory
//! store, a holder that renews (or dies) and two processes that try to take the lock, every
//! interleaving of their calls and of the clock explored.
//!
//! Each call on the store is one atomic action; so is a tick of the clock and the holder's
//! death. The exploration is exhaustive: a depth-first search over the states, which counts
//! the interleavings (the paths from the first state to a final one) as it goes, with the
//! count of a state it saw before reused. Safety is a property of states, so checking every
//! reachable state checks every interleaving: never two processes that believe they hold the
//! lock (their claim not lost, not released and not expired by their clock). Liveness: from
//! every reachable state where the holder is gone, a fair run (every process gets its turn,
//! the clock moves on) ends with another process holding the lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::claim::Claim;
use super::protocol::{Acquire, Answer, Hold, LockStore, Op, Progress, Timing, perform};
use crate::error::AwsError;

/// The in-memory store: generation -> claim; `.1` false makes `create` overwrite a name that
/// exists (a store without an atomic create, to show the exploration finds what that breaks).
struct Memory(Mutex<BTreeMap<u64, Claim>>, bool);

impl Memory {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<u64, Claim>) -> T) -> T {
        f(&mut self.0.lock().expect("one thread"))
    }
}

impl LockStore for Memory {
    async fn generations(&self) -> Result<Vec<u64>, AwsError> {
        Ok(self.with(|v| v.keys().copied().collect()))
    }
    async fn claim(&self, generation: u64) -> Result<Option<Claim>, AwsError> {
        Ok(self.with(|v| v.get(&generation).cloned()))
    }
    async fn create(&self, generation: u64, claim: &Claim) -> Result<bool, AwsError> {
        Ok(self.with(|v| {
            let free = !self.1 || !v.contains_key(&generation);
            if free {
                v.insert(generation, claim.clone());
            }
            free
        }))
    }
    async fn extend(&self, generation: u64, expires: u64) -> Result<bool, AwsError> {
        Ok(self.with(|v| {
            v.get_mut(&generation)
                .map(|c| c.expires = Some(expires))
                .is_some()
        }))
    }
    async fn release(&self, generation: u64, at: u64) -> Result<bool, AwsError> {
        Ok(self.with(|v| {
            v.get_mut(&generation)
                .map(|c| c.released = Some(at))
                .is_some()
        }))
    }
    async fn delete(&self, generation: u64) -> Result<bool, AwsError> {
        Ok(self.with(|v| v.remove(&generation).is_some()))
    }
}

const TIMING: Timing = Timing { ttl: 1, margin: 0 };

/// What a holding process still has to do, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Task {
    Call(Op),
    Extend,
    Step,
    Release,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Phase {
    Acquiring(Acquire, u8),
    Holding(Hold, Vec<Task>),
    GaveUp(Acquire),
    Done,
    Crashed,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct World {
    now: u64,
    ticks_left: u8,
    vaults: BTreeMap<u64, Claim>,
    /// The first process is the holder; the others try to take the lock.
    procs: Vec<Phase>,
    /// Which processes started a step while holding.
    held: Vec<bool>,
    /// Which processes took the lock (the holder had it from the start).
    acquired: Vec<bool>,
    /// Whether the store's create is atomic (create-if-absent).
    atomic: bool,
}

/// The world at the start: process 0 holds generation 1 until `now + ttl`.
fn start(breakers: usize, ticks: u8, rounds: u8) -> World {
    let claim = |owner: &str| Claim {
        owner: Some(owner.into()),
        holder: Some(owner.into()),
        since: Some(0),
        expires: Some(TIMING.ttl),
        released: None,
    };
    let mut acquire = Acquire::new("holder", "holder", TIMING);
    acquire.answer(Answer::Generations(vec![]), 0, 0);
    acquire.answer(Answer::Created(true), 0, 0);
    let Progress::Held(hold) = acquire.answer(Answer::Generations(vec![1]), 0, 0) else {
        unreachable!("the first generation is the highest")
    };
    // A renewal as `ApplyLock::keep_alive` makes it: list, then extend.
    let script = vec![
        Task::Step,
        Task::Call(Op::List),
        Task::Extend,
        Task::Step,
        Task::Release,
    ];
    let mut procs = vec![Phase::Holding(hold, script)];
    for i in 0..breakers {
        let name = format!("breaker-{i}");
        procs.push(Phase::Acquiring(Acquire::new(&name, &name, TIMING), rounds));
    }
    World {
        now: 0,
        ticks_left: ticks,
        vaults: BTreeMap::from([(1, claim("holder"))]),
        procs,
        held: vec![false; breakers + 1],
        acquired: vec![false; breakers + 1],
        atomic: true,
    }
}

/// Makes `op` on the world's store, through the protocol's own `perform`.
fn call(world: &mut World, op: &Op) -> Answer {
    let store = Memory(Mutex::new(std::mem::take(&mut world.vaults)), world.atomic);
    let answer = futures::executor::block_on(perform(&store, op)).expect("memory never fails");
    world.vaults = store.0.into_inner().expect("one thread");
    answer
}

/// Whether `phase` believes it holds the lock at `now`.
fn believes(phase: &Phase, now: u64) -> bool {
    matches!(phase, Phase::Holding(hold, _) if hold.clone().may_start(now).is_ok())
}

/// The actions enabled in `world`: `(process, crash)`, or `None` for a tick.
fn actions(world: &World) -> Vec<Option<(usize, bool)>> {
    let mut enabled = Vec::new();
    for (i, phase) in world.procs.iter().enumerate() {
        if matches!(phase, Phase::Acquiring(..) | Phase::Holding(..)) {
            enabled.push(Some((i, false)));
            if i == 0 {
                enabled.push(Some((i, true)));
            }
        }
    }
    if world.ticks_left > 0 {
        enabled.push(None);
    }
    enabled
}

/// Runs one action of process `i` (or its death).
fn act(world: &mut World, i: usize, crash: bool) {
    let now = world.now;
    let phase = std::mem::replace(&mut world.procs[i], Phase::Done);
    world.procs[i] = match phase {
        _ if crash => Phase::Crashed,
        Phase::Acquiring(mut acquire, rounds) => {
            let op = acquire.op(now);
            let answer = call(world, &op);
            match acquire.answer(answer, now, now) {
                Progress::Continue => Phase::Acquiring(acquire, rounds),
                Progress::Wait(..) | Progress::Taken(_) if rounds <= 1 => Phase::GaveUp(acquire),
                Progress::Wait(..) | Progress::Taken(_) => Phase::Acquiring(acquire, rounds - 1),
                Progress::Held(mut hold) => {
                    world.acquired[i] = true;
                    let mut tasks: Vec<Task> =
                        hold.take_stale().into_iter().map(Task::Call).collect();
                    tasks.extend([Task::Step, Task::Release]);
                    Phase::Holding(hold, tasks)
                }
            }
        }
        Phase::Holding(mut hold, mut tasks) => {
            let task = tasks.remove(0);
            match task {
                Task::Call(op) => {
                    let answer = call(world, &op);
                    hold.answer(&op, &answer, now);
                }
                Task::Extend => {
                    let op = hold.extend_op(now);
                    let answer = call(world, &op);
                    hold.answer(&op, &answer, now);
                }
                Task::Step if hold.may_start(now).is_ok() => {
                    let others = (0..world.procs.len()).filter(|j| *j != i);
                    let rivals: Vec<usize> =
                        others.filter(|j| believes(&world.procs[*j], now)).collect();
                    assert!(
                        rivals.is_empty(),
                        "process {i} starts a step while {rivals:?} also hold the lock: {world:?}"
                    );
                    world.held[i] = true;
                }
                Task::Step => tasks = vec![Task::Release],
                Task::Release => {
                    if let Some(op) = hold.release_op(now) {
                        call(world, &op);
                    }
                }
            }
            if tasks.is_empty() {
                Phase::Done
            } else {
                Phase::Holding(hold, tasks)
            }
        }
        other => other,
    };
}

/// Checks that at most one process believes it holds the lock.
fn check_safe(world: &World) {
    let believers: Vec<usize> = (0..world.procs.len())
        .filter(|i| believes(&world.procs[*i], world.now))
        .collect();
    assert!(
        believers.len() <= 1,
        "{believers:?} all hold the lock: {world:?}"
    );
}

/// From `world`, with the holder gone: every waiting process retries, round after round, with
/// the clock moving on; some process other than the holder must end up holding the lock.
fn check_live(world: &World) {
    let mut world = world.clone();
    for phase in &mut world.procs[1..] {
        if let Phase::GaveUp(acquire) | Phase::Acquiring(acquire, _) = phase {
            *phase = Phase::Acquiring(acquire.clone(), u8::MAX);
        }
    }
    for _ in 0..50 {
        if world.acquired[1..].iter().any(|h| *h) {
            return;
        }
        for i in 1..world.procs.len() {
            for _ in 0..8 {
                if matches!(world.procs[i], Phase::Acquiring(..) | Phase::Holding(..)) {
                    act(&mut world, i, false);
                }
            }
        }
        world.now += 1;
    }
    panic!("no process took the lock after the holder was gone: {world:?}");
}

/// Explores every interleaving from `world`; the number of interleavings from it.
fn explore(world: &World, seen: &mut HashMap<World, u128>) -> u128 {
    if let Some(count) = seen.get(world) {
        return *count;
    }
    check_safe(world);
    if matches!(world.procs[0], Phase::Crashed | Phase::Done) {
        check_live(world);
    }
    let enabled = actions(world);
    let mut count = u128::from(enabled.is_empty());
    for action in enabled {
        let mut next = world.clone();
        match action {
            Some((i, crash)) => act(&mut next, i, crash),
            None => {
                next.now += 1;
                next.ticks_left -= 1;
            }
        }
        count += explore(&next, seen);
    }
    seen.insert(world.clone(), count);
    count
}

#[test]
fn two_breakers_and_a_renewing_holder_never_both_hold_in_any_interleaving() {
    let mut seen = HashMap::new();
    let interleavings = explore(&start(2, 3, 3), &mut seen);
    println!(
        "lock model: {interleavings} interleavings of a renewing holder, two breakers and 3 clock ticks; {} distinct states",
        seen.len()
    );
    // The exploration really branches: trillions of orders of the calls, ticks and deaths.
    assert!(interleavings > 1_000_000_000_000, "{interleavings}");
    // Some interleavings let a breaker take over from the holder after its claim lapsed.
    let took_over = seen.keys().any(|w| w.held[0] && (w.held[1] || w.held[2]));
    assert!(
        took_over,
        "no interleaving has a breaker take over a lapsed claim"
    );
}

#[test]
fn the_exploration_finds_two_holders_when_create_is_not_atomic() {
    let mut world = start(2, 1, 2);
    world.atomic = false;
    let explored = std::panic::catch_unwind(|| explore(&world, &mut HashMap::new()));
    let message = explored.expect_err("two breakers both win a create that overwrites");
    let message = message.downcast_ref::<String>().map_or("", String::as_str);
    assert!(message.contains("hold the lock"), "{message}");
}
