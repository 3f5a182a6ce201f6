//! The figures: medians and 95th percentiles, the bot's overhead next to Terraform's own
//! time, and the targets they are held to.

use std::time::Duration;

use crate::latency::Sample;
use crate::parallel::Burst;
use crate::world::Settings;

/// The bot's own time for comment → PR (no Terraform in it): under 20 ms at the median.
const COMMENT_TO_PR_TARGET: Duration = Duration::from_millis(20);
/// The bot's overhead on a plan or an apply: under 10 % of Terraform's own time.
const OVERHEAD_SHARE_TARGET: f64 = 0.10;
/// Many deployments at once: within 1.1 × ceil(n / parallelism) × one plan alone, scaled by
/// the slowdown Terraform's own plans show at that parallelism.
const PARALLEL_TARGET: f64 = 1.1;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The value at `q` (0..=1) of `values`, nearest rank.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn terraform_version(settings: &Settings) -> String {
    std::process::Command::new(&settings.terraform)
        .arg("version")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "terraform (version unknown)".to_owned())
}

pub fn latency(settings: &Settings, samples: &[Sample]) -> anyhow::Result<()> {
    // The targets are the bot's own time: GitHub's distance is not the bot's.
    let judged = settings.github_round_trip.is_zero();
    let judge = |ok: bool| if judged { verdict(ok) } else { "not judged" };
    let column = |pick: fn(&Sample) -> Duration| -> Vec<f64> {
        samples.iter().map(|s| ms(pick(s))).collect()
    };
    let round_trip = settings.github_round_trip;
    let github = if round_trip.is_zero() {
        "fake GitHub in-process (zero latency)".to_owned()
    } else {
        format!(
            "fake GitHub in-process, {} ms per request",
            round_trip.as_millis()
        )
    };
    let module = match settings.chain {
        Some(_) => "the repository's terraform/ on the chain (stand-in providers)",
        None => "tests/fixtures/terraform",
    };
    println!(
        "== bot latency: {} runs, {module}, {}, {} cores, {github}, offline planner ==",
        samples.len(),
        terraform_version(settings),
        cores()
    );
    println!(
        "| step | bot median | bot p95 | Terraform alone median | p95 | bot overhead median | p95 | overhead / Terraform | target | bot's own time median |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let pr = column(|s| s.comment_to_pr);
    let pr_ok = quantile(&pr, 0.5) < ms(COMMENT_TO_PR_TARGET);
    println!(
        "| comment → PR opened | {:.1} ms | {:.1} ms | (no Terraform) | | {:.1} ms | {:.1} ms | | < {} ms median: {} | |",
        quantile(&pr, 0.5),
        quantile(&pr, 0.95),
        quantile(&pr, 0.5),
        quantile(&pr, 0.95),
        COMMENT_TO_PR_TARGET.as_millis(),
        judge(pr_ok)
    );
    type Pick = fn(&Sample) -> Duration;
    type PickOwn = fn(&Sample) -> Option<Duration>;
    let rows: [(&str, Pick, Pick, PickOwn); 3] = [
        (
            "PR opened → plan comment",
            |s| s.opened_to_plan,
            |s| s.bare_plan,
            |s| s.own_terraform.opened,
        ),
        (
            "push → plan comment",
            |s| s.push_to_plan,
            |s| s.bare_plan,
            |s| s.own_terraform.push,
        ),
        (
            "merge → apply comment",
            |s| s.merge_to_apply,
            |s| s.bare_apply,
            |s| s.own_terraform.merge,
        ),
    ];
    let mut all_ok = pr_ok;
    // On the chain the merge is not measured: see `Settings::with_apply`.
    let measured = if settings.with_apply() { 3 } else { 2 };
    for (name, bot_pick, bare, own_pick) in rows.into_iter().take(measured) {
        let (bot, bare) = (column(bot_pick), column(bare));
        // The bot's time less its own Terraform commands' (from its log): everything but
        // Terraform, free of the bare runs' spread.
        let own: Option<Vec<f64>> = samples
            .iter()
            .map(|s| own_pick(s).map(|tf| ms(bot_pick(s)) - ms(tf)))
            .collect();
        let own = own.map_or_else(
            || "n/a".to_owned(),
            |own| format!("{:.0} ms", quantile(&own, 0.5)),
        );
        // Each run's bot time less the bare time of the same step in the same run.
        let overhead: Vec<f64> = bot.iter().zip(&bare).map(|(b, t)| b - t).collect();
        let share = quantile(&overhead, 0.5) / quantile(&bare, 0.5);
        let ok = share < OVERHEAD_SHARE_TARGET;
        all_ok &= ok;
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} % | < {:.0} %: {} | {own} |",
            quantile(&bot, 0.5),
            quantile(&bot, 0.95),
            quantile(&bare, 0.5),
            quantile(&bare, 0.95),
            quantile(&overhead, 0.5),
            quantile(&overhead, 0.95),
            share * 100.0,
            OVERHEAD_SHARE_TARGET * 100.0,
            judge(ok)
        );
    }
    if round_trip.is_zero() {
        println!(
            "targets: {}",
            if all_ok { "all met" } else { "NOT all met" }
        );
    } else {
        println!("targets: judged at zero GitHub latency only (BENCH_GITHUB_RTT_MS unset)");
    }
    Ok(())
}

/// How many plans the bot runs at once: its workers, at most one Terraform run per core
/// (its runner's default).
pub fn parallelism(settings: &Settings) -> usize {
    settings.workers.unwrap_or(4).min(cores()).max(1)
}

/// One round's ideal and the bot's time against it.
struct RoundFigures {
    bare_together: f64,
    slowdown: f64,
    ideal: f64,
    together: f64,
    ratio: f64,
}

/// A round's figures against one plan alone through the bot (`one`) and bare (`bare_one`),
/// both pooled over every round: three samples a round swing by a third on a shared VM,
/// and one plan's time barely drifts within the minute the rounds take.
fn round_figures(burst: &Burst, parallelism: usize, one: f64, bare_one: f64) -> RoundFigures {
    let waves = burst.deployments.div_ceil(parallelism);
    let bare_together = ms(burst.bare_together);
    // Above 1 when Terraform's plans slow each other down side by side (a plan keeps more
    // than one core busy at times); never below 1, so a machine with cores to spare is
    // held to the naive ideal.
    let slowdown = (bare_together / (waves as f64 * bare_one)).max(1.0);
    let ideal = waves as f64 * one * slowdown;
    let together = ms(burst.together);
    RoundFigures {
        bare_together,
        slowdown,
        ideal,
        together,
        ratio: together / ideal,
    }
}

fn pooled_median(rounds: &[Burst], samples: impl Fn(&Burst) -> &[Duration]) -> f64 {
    let all: Vec<f64> = rounds
        .iter()
        .flat_map(|round| samples(round).iter().map(|d| ms(*d)))
        .collect();
    quantile(&all, 0.5)
}

pub fn parallel(settings: &Settings, rounds: &[Burst]) -> anyhow::Result<()> {
    anyhow::ensure!(!rounds.is_empty(), "no round was measured");
    let workers = settings.workers.unwrap_or(4);
    let parallelism = parallelism(settings);
    let deployments = rounds[0].deployments;
    let waves = deployments.div_ceil(parallelism);
    let one = pooled_median(rounds, |round| &round.alone);
    let bare_one = pooled_median(rounds, |round| &round.bare_alone);
    println!(
        "== {deployments} deployments planned at once: {}, {} cores, {workers} workers, parallelism {parallelism}, {} rounds ==",
        terraform_version(settings),
        cores(),
        rounds.len()
    );
    println!(
        "each round: {} plans alone through the bot (event → plan comment) and {} bare, the same {deployments} plans bare {parallelism} at a time, then the bot's {deployments} at once",
        rounds[0].alone.len(),
        rounds[0].bare_alone.len()
    );
    println!(
        "one plan alone, median over all rounds: through the bot {one:.0} ms, bare {bare_one:.0} ms"
    );
    println!(
        "ideal = ceil({deployments}/{parallelism}) = {waves} × {one:.0} ms × Terraform's own slowdown side by side (bare together / ({waves} × {bare_one:.0} ms), at least 1)"
    );
    println!(
        "| round | bare together ms | slowdown | ideal ms | bot together ms | ratio | bot / bare together |"
    );
    println!("|---|---|---|---|---|---|---|");
    let figures: Vec<RoundFigures> = rounds
        .iter()
        .map(|round| round_figures(round, parallelism, one, bare_one))
        .collect();
    for (i, f) in figures.iter().enumerate() {
        println!(
            "| {} | {:.0} | {:.2} | {:.0} | {:.0} | {:.2} | {:.2} |",
            i + 1,
            f.bare_together,
            f.slowdown,
            f.ideal,
            f.together,
            f.ratio,
            f.together / f.bare_together
        );
    }
    let ratios: Vec<f64> = figures.iter().map(|f| f.ratio).collect();
    let median = quantile(&ratios, 0.5);
    println!(
        "{deployments} at once, first delivery → last plan comment: median ratio to the ideal over {} rounds {median:.2} (target < {PARALLEL_TARGET}: {})",
        rounds.len(),
        verdict(median < PARALLEL_TARGET)
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
