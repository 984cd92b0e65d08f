//! The lock protocol, apart from AWS: the calls on a [`LockStore`] that take the lock
//! ([`Acquire`]) and keep it ([`Hold`]), as state machines that say which call to make next
//! and learn from its answer. The SDK store (`site.rs`) and the in-memory store of the model
//! test (`model.rs`) run the same machines.
//!
//! The lock is a chain of generations: vault `<base>-<g>` is generation `g`, and its creator
//! holds generation `g`. The highest generation that exists is the lock's state: held until
//! its claim expires or is released. Taking a free lock (its highest generation `g` expired or
//! released, or no generation at all) is creating generation `g + 1` (or 1): a create of a name
//! that exists fails, so of all the processes that saw `g` free, exactly one wins. The winner
//! then lists the generations: only if its own is the highest does it hold the lock (a slow
//! process may re-create a generation the winner of a higher one already cleaned up; it
//! deletes it again and waits). The winner deletes the older generations; nothing else deletes
//! a generation that may be the highest, so the highest generation never goes back.
//!
//! A holder believes it holds only while its claim has not expired by its own clock (less a
//! margin for clocks that disagree), and not once it has seen its claim gone or a higher
//! generation. Renewing is listing the generations again and extending the expiry; a renewal
//! that completes after the claim expired loses the lock for good, because another process may
//! have seen it expired meanwhile.

use std::future::Future;

use super::claim::Claim;
use crate::error::AwsError;

/// How long claims last, and how early a holder stops trusting its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timing {
    /// How long a claim holds, from its creation or last renewal, in seconds.
    pub ttl: u64,
    /// A holder stops starting steps this many seconds before its claim expires.
    pub margin: u64,
}

/// One call on the lock store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// The generations that exist.
    List,
    /// The claim of a generation.
    Read(u64),
    /// Create a generation with a claim, if its name is free.
    Create(u64, Claim),
    /// Set a generation's expiry (Unix seconds).
    Extend(u64, u64),
    /// Mark a generation released (at Unix seconds).
    Release(u64, u64),
    /// Delete a generation.
    Delete(u64),
}

/// What the store answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The generations that exist, in any order.
    Generations(Vec<u64>),
    /// The claim of a generation; `None` when it does not exist.
    Claim(Option<Claim>),
    /// Whether the create made the generation (`false`: the name was taken).
    Created(bool),
    /// Whether the generation existed when it was changed or deleted.
    Done(bool),
}

/// Where the lock's generations live: create-if-absent, read, change, delete, list.
pub trait LockStore: Sync {
    /// The generations that exist.
    fn generations(&self) -> impl Future<Output = Result<Vec<u64>, AwsError>> + Send;
    /// The claim of generation `generation`; `None` when it does not exist.
    fn claim(
        &self,
        generation: u64,
    ) -> impl Future<Output = Result<Option<Claim>, AwsError>> + Send;
    /// Creates generation `generation` with `claim`, atomically: `false` when the name exists.
    fn create(
        &self,
        generation: u64,
        claim: &Claim,
    ) -> impl Future<Output = Result<bool, AwsError>> + Send;
    /// Sets the expiry of `generation`; `false` when it does not exist.
    fn extend(
        &self,
        generation: u64,
        expires: u64,
    ) -> impl Future<Output = Result<bool, AwsError>> + Send;
    /// Marks `generation` released at `at`; `false` when it does not exist.
    fn release(
        &self,
        generation: u64,
        at: u64,
    ) -> impl Future<Output = Result<bool, AwsError>> + Send;
    /// Deletes `generation`; `false` when it did not exist.
    fn delete(&self, generation: u64) -> impl Future<Output = Result<bool, AwsError>> + Send;
}

/// Makes the call `op` on `store`.
pub async fn perform<S: LockStore>(store: &S, op: &Op) -> Result<Answer, AwsError> {
    Ok(match op {
        Op::List => Answer::Generations(store.generations().await?),
        Op::Read(g) => Answer::Claim(store.claim(*g).await?),
        Op::Create(g, claim) => Answer::Created(store.create(*g, claim).await?),
        Op::Extend(g, expires) => Answer::Done(store.extend(*g, *expires).await?),
        Op::Release(g, at) => Answer::Done(store.release(*g, *at).await?),
        Op::Delete(g) => Answer::Done(store.delete(*g).await?),
    })
}

/// Where an [`Acquire`] is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Phase {
    List,
    Read(u64),
    Create(u64),
    /// Created, with the expiry written then.
    Validate(u64, u64),
    Abandon(u64),
}

/// What an answer led to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Progress {
    /// Make the next call.
    Continue,
    /// Generation `.0`, claimed by `.1`, holds the lock: wait, then call again.
    Wait(u64, Claim),
    /// Generation `.0` is listed but gone, or its name is taken although it was not listed (a
    /// deletion still propagating): wait a little, then call again.
    Taken(u64),
    /// The lock is held.
    Held(Hold),
}

/// Taking the lock: list, read the highest generation, create the next one when it is free,
/// and check that it is the highest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acquire {
    owner: String,
    holder: String,
    timing: Timing,
    phase: Phase,
}

impl Acquire {
    /// Taking the lock for the claim `owner` (unique), made by `holder` (for people).
    pub fn new(owner: &str, holder: &str, timing: Timing) -> Acquire {
        Acquire {
            owner: owner.to_string(),
            holder: holder.to_string(),
            timing,
            phase: Phase::List,
        }
    }

    /// The call to make now.
    pub fn op(&self, now: u64) -> Op {
        match self.phase {
            Phase::List | Phase::Validate(..) => Op::List,
            Phase::Read(g) => Op::Read(g),
            Phase::Create(g) => Op::Create(
                g,
                Claim {
                    owner: Some(self.owner.clone()),
                    holder: Some(self.holder.clone()),
                    since: Some(now),
                    expires: Some(now + self.timing.ttl),
                    released: None,
                },
            ),
            Phase::Abandon(g) => Op::Delete(g),
        }
    }

    /// Learns from the answer to [`Acquire::op`], made at `sent` (the time [`Acquire::op`] was
    /// given) and answered by `now`.
    pub fn answer(&mut self, answer: Answer, sent: u64, now: u64) -> Progress {
        let (next, progress) = match (&self.phase, answer) {
            (Phase::List, Answer::Generations(gens)) => match gens.iter().max() {
                None => (Phase::Create(1), Progress::Continue),
                Some(g) => (Phase::Read(*g), Progress::Continue),
            },
            (Phase::Read(g), Answer::Claim(claim)) => match claim {
                // Listed but gone: deleted, and still listed while the deletion propagates.
                None => (Phase::List, Progress::Taken(*g)),
                Some(c) if c.owner.is_some() && c.free_at(now) => {
                    (Phase::Create(g + 1), Progress::Continue)
                }
                Some(c) => (Phase::List, Progress::Wait(*g, c)),
            },
            (Phase::Create(g), Answer::Created(true)) => (
                Phase::Validate(*g, sent + self.timing.ttl),
                Progress::Continue,
            ),
            (Phase::Create(g), Answer::Created(false)) => (Phase::List, Progress::Taken(*g)),
            (Phase::Validate(g, expires), Answer::Generations(gens)) => {
                if gens.iter().any(|other| other > g) {
                    (Phase::Abandon(*g), Progress::Continue)
                } else {
                    let stale = gens.into_iter().filter(|other| other < g).collect();
                    let hold = Hold::new(&self.owner, *g, *expires, stale);
                    (Phase::List, Progress::Held(hold.with_timing(self.timing)))
                }
            }
            (Phase::Abandon(_), Answer::Done(_)) => (Phase::List, Progress::Continue),
            // An answer to another call: start over (never happens with a correct driver).
            (_, _) => (Phase::List, Progress::Continue),
        };
        self.phase = next;
        progress
    }
}

/// Why a holder no longer holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Lost {
    #[error("its claim expired at {0} (Unix seconds) before it could be renewed")]
    Lapsed(u64),
    #[error("generation {0} of the lock superseded it (the lock was broken)")]
    Superseded(u64),
    #[error("its claim is gone or no longer names this apply")]
    Gone,
    #[error("renewing it failed: {0}")]
    Failed(String),
}

/// A held generation of the lock: until when its claim holds, and whether this process has
/// seen that it lost it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hold {
    pub owner: String,
    pub generation: u64,
    /// When the claim expires, as this holder last set it.
    pub expires: u64,
    timing: Timing,
    lost: Option<Lost>,
    stale: Vec<u64>,
    released: bool,
}

impl Hold {
    fn new(owner: &str, generation: u64, expires: u64, stale: Vec<u64>) -> Hold {
        Hold {
            owner: owner.to_string(),
            generation,
            expires,
            timing: Timing { ttl: 0, margin: 0 },
            lost: None,
            stale,
            released: false,
        }
    }

    fn with_timing(mut self, timing: Timing) -> Hold {
        self.timing = timing;
        self
    }

    /// Whether a step may start at `now`: `Err` once the lock is lost (for good).
    pub fn may_start(&mut self, now: u64) -> Result<(), Lost> {
        if self.lost.is_none() && now + self.timing.margin >= self.expires {
            self.lost = Some(Lost::Lapsed(self.expires));
        }
        match &self.lost {
            Some(lost) => Err(lost.clone()),
            None if self.released => Err(Lost::Gone),
            None => Ok(()),
        }
    }

    /// Records that the lock was lost (a failed call); the first reason stays.
    pub fn lose(&mut self, lost: Lost) {
        self.lost.get_or_insert(lost);
    }

    /// The older generations, to delete once (the winner's clean-up).
    pub fn take_stale(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.stale)
            .into_iter()
            .map(Op::Delete)
            .collect()
    }

    /// The renewal call at `now`: extend the claim by the TTL.
    pub fn extend_op(&self, now: u64) -> Op {
        Op::Extend(self.generation, now + self.timing.ttl)
    }

    /// Learns from the answer to `op` (one of [`Hold::extend_op`], [`Op::List`], or
    /// [`Op::Read`] of its generation), answered by `now`.
    pub fn answer(&mut self, op: &Op, answer: &Answer, now: u64) {
        match (op, answer) {
            (Op::Extend(_, _), Answer::Done(false)) => self.lose(Lost::Gone),
            // Extended in time (too late, another process may have seen the claim expired).
            (Op::Extend(_, expires), Answer::Done(true)) if self.may_start(now).is_ok() => {
                self.expires = *expires;
            }
            (Op::List, Answer::Generations(gens)) => {
                if let Some(higher) = gens.iter().copied().filter(|g| *g > self.generation).max() {
                    self.lose(Lost::Superseded(higher));
                } else if !gens.contains(&self.generation) {
                    self.lose(Lost::Gone);
                }
            }
            (Op::Read(_), Answer::Claim(claim)) => {
                let ours = claim.as_ref().is_some_and(|c| {
                    c.owner.as_deref() == Some(self.owner.as_str()) && c.released.is_none()
                });
                if !ours {
                    self.lose(Lost::Gone);
                }
            }
            _ => {}
        }
    }

    /// The call that gives the lock back at `now`; `None` when it was lost (then the claim is
    /// no longer this holder's to change) or already given back.
    pub fn release_op(&mut self, now: u64) -> Option<Op> {
        if self.released || self.may_start(now).is_err() {
            return None;
        }
        self.released = true;
        Some(Op::Release(self.generation, now))
    }
}
