//! `twostep hash-rate`: raw Argon2id verifications per second with the
//! server's parameters, one thread per core, no server around them: the
//! baseline `bench/sign-ins` compares sign-ins with.

use std::time::{Duration, Instant};

use clap::Args;
use twostep_core::password::{self, Memory};

#[derive(Args, Debug)]
pub struct HashRateArgs {
    /// How long to hash.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Threads hashing at once [default: the number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: HashRateArgs) -> anyhow::Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let phc = password::hash("correct horse battery staple", &mut rand::rngs::OsRng);
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mem = Memory::new();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        password::verify_in("correct horse battery staple", &phc, &mut mem);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    let total: u64 = counts.iter().sum();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"threads\": {threads}, \"verifications\": {total}, \"seconds\": {secs:.3}, \"per_second\": {:.2}}}",
        total as f64 / secs
    );
    Ok(())
}
