//! `leap0 demo` and `leap0 emulator`: the embedded emulator, for trying
//! everything offline.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use leap0_clock::SystemClock;
use leap0_core::transport::Clock;
use leap0_core::{
    Call, CallOutput, Config, CreateSandbox, CreateSnapshot, DeleteSnapshot, Error, GetSandbox,
    ListSnapshots, PauseIntoSnapshot, ResumeSnapshot, SnapshotsClient, WaitPolicy,
};
use leap0_emulator::{Emulator, EmulatorArgs, EmulatorConfig};
use leap0_replay::{RecordOptions, Recorder, ReplayOptions, Replayer};
use leap0_ureq::UreqTransport;
use serde_json::{Value, json};

use crate::commands::Run;
use crate::output::{Failure, shown};
use crate::watch::human;

/// The demo's key: never printed, and proven absent from the cassette.
const DEMO_KEY: &str = "sk-demo-3b1f0c9e5d";

/// `leap0 emulator`: serve until Ctrl-C, with the same flags as `leap0-emulator`.
pub(crate) fn serve(run: &Run<'_>, args: &EmulatorArgs) -> Result<(), Failure> {
    let emulator = Emulator::start_with(args.config())
        .map_err(|e| Failure::other("emulator", format!("could not start the emulator: {e}")))?;
    let url = emulator.base_url();
    run.print(
        json!({ "base_url": url }),
        format!(
            "leap0 emulator listening on {url}\n{}\nCtrl-C to stop\n",
            args.startup_hint(&url)
        ),
    )?;
    emulator
        .run_until_ctrl_c()
        .map_err(|e| Failure::other("emulator", e.to_string()))
}

/// One step of the demo: what it does, and the call that does it.
struct Step {
    label: &'static str,
    call: Call,
}

/// `leap0 demo`: record the lifecycle through ureq, then replay it with no server.
pub(crate) fn run(run: &Run<'_>, cassette: Option<PathBuf>) -> Result<(), Failure> {
    let path = match cassette {
        Some(path) => path,
        None => std::env::temp_dir()
            .join("leap0-demo")
            .join("cassette.json"),
    };
    let talk = !run.cli.global.json;
    let say = |text: String| {
        if talk {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "{text}");
            let _ = stdout.flush();
        }
    };

    let emulator = Emulator::start_with(EmulatorConfig::default().api_key(DEMO_KEY))
        .map_err(|e| Failure::other("emulator", format!("could not start the emulator: {e}")))?;
    say(format!(
        "leap0 demo: the snapshot lifecycle on the embedded emulator (no key, no network)\n\
         emulator listening on {}\n\nrecording through ureq:\n",
        emulator.base_url()
    ));
    let config = Config::builder()
        .api_key(DEMO_KEY)
        .base_url(emulator.base_url())
        .wait(WaitPolicy::new(
            Duration::from_millis(200),
            Duration::from_secs(30),
        ))
        .build()
        .map_err(|e| Failure::from(Error::from(e)))?;
    let recorder = Recorder::new(
        UreqTransport::new(),
        RecordOptions::new().config(&config).secret(DEMO_KEY),
    );
    let live = SnapshotsClient::new(config.clone(), recorder.clone(), SystemClock::new());

    let started = Instant::now();
    let mut steps: Vec<Step> = Vec::new();
    let mut recorded: Vec<Value> = Vec::new();
    let mut first_sandbox = String::new();
    let mut next = Some(Step {
        label: "create a sandbox from the python template",
        call: Call::CreateSandbox(CreateSandbox::new("python")),
    });
    while let Some(step) = next.take() {
        let output = live.call(step.call.clone()).map_err(Failure::from)?;
        say(format!(
            "  {}. {:<44} {}\n",
            steps.len() + 1,
            step.label,
            summary(&output)
        ));
        if let (0, CallOutput::Sandbox(s)) = (steps.len(), &output) {
            first_sandbox = s.id.clone();
        }
        next = following(steps.len(), &output, &first_sandbox);
        recorded.push(json_of(&output));
        steps.push(step);
    }
    let live_time = started.elapsed();
    recorder
        .save(&path)
        .map_err(|e| Failure::other("cassette", e.to_string()))?;
    drop(emulator);
    say(format!(
        "\ncassette written to {} ({} interactions, API key redacted)\nemulator stopped\n\n\
         replaying the cassette with no server:\n",
        path.display(),
        recorder.len()
    ));

    let replayer = Replayer::from_file(&path, ReplayOptions::default())
        .map_err(|e| Failure::other("cassette", e.to_string()))?;
    let clock = replayer.clock();
    let replay = SnapshotsClient::new(config, replayer.clone(), clock.clone());
    let started = Instant::now();
    let mut identical = true;
    let mut report = Vec::new();
    for (i, (step, expected)) in steps.iter().zip(&recorded).enumerate() {
        let got = replay.call(step.call.clone()).map(|o| json_of(&o));
        let same = got.as_ref().ok() == Some(expected);
        identical &= same;
        let verdict = match &got {
            Ok(_) if same => "identical".to_owned(),
            Ok(v) => format!("DIFFERENT: {v}"),
            Err(e) => format!("FAILED: {e}"),
        };
        say(format!("  {}. {:<44} {verdict}\n", i + 1, step.label));
        report.push(json!({"step": step.label, "result": expected, "identical": same}));
    }
    let replay_time = started.elapsed();
    let unused = replayer.finish();
    identical &= unused.is_ok();
    let waited = Clock::now(&clock).since_origin();
    say(format!(
        "\n{} results {}; live run {}, replay {} (it skipped {} of recorded waiting)\n",
        steps.len(),
        if identical {
            "identical"
        } else {
            "NOT identical"
        },
        human(live_time),
        human(replay_time),
        human(waited),
    ));
    if !talk {
        run.print(
            json!({
                "cassette": path.display().to_string(),
                "steps": report,
                "identical": identical,
            }),
            String::new(),
        )?;
    }
    match unused {
        Err(e) => Err(Failure::other("replay", e.to_string())),
        Ok(()) if !identical => Err(Failure::other(
            "replay",
            "the replay differed from the live run",
        )),
        Ok(()) => Ok(()),
    }
}

/// The demo's script: each step follows from what the previous one returned.
fn following(done: usize, previous: &CallOutput, first_sandbox: &str) -> Option<Step> {
    let sandbox = |o: &CallOutput| match o {
        CallOutput::Sandbox(s) => Some(s.id.clone()),
        _ => None,
    };
    let step = |label, call| Some(Step { label, call });
    match done {
        0 => step(
            "wait until it is running",
            Call::WaitUntilRunning(GetSandbox::new(sandbox(previous)?)),
        ),
        1 => step(
            "snapshot it as \"warm\" (it keeps running)",
            Call::CreateSnapshot(CreateSnapshot::new(sandbox(previous)?).name("warm")),
        ),
        2 => step(
            "pause it into the snapshot \"nightly\"",
            Call::PauseIntoSnapshot(PauseIntoSnapshot::new(first_sandbox).name("nightly")),
        ),
        3 => step(
            "resume \"nightly\" and wait until running",
            Call::ResumeAndWait(ResumeSnapshot::new("nightly").timeout_min(30)),
        ),
        4 => step(
            "list snapshots",
            Call::ListSnapshots(ListSnapshots::default()),
        ),
        5 => {
            let CallOutput::List(list) = previous else {
                return None;
            };
            let warm = list.items.iter().find(|s| s.name == "warm")?;
            step(
                "delete \"warm\"",
                Call::DeleteSnapshot(DeleteSnapshot::new(warm)),
            )
        }
        6 => step(
            "list snapshots again",
            Call::ListSnapshots(ListSnapshots::default()),
        ),
        _ => None,
    }
}

/// One line about a step's result; the emulator's text is shown escaped.
fn summary(output: &CallOutput) -> String {
    let text = match output {
        CallOutput::Snapshot(s) => format!("snapshot {} \"{}\"", s.id, s.name),
        CallOutput::Sandbox(s) => format!("sandbox {} ({})", s.id, s.state),
        CallOutput::List(l) => {
            let names: Vec<&str> = l.items.iter().map(|s| s.name.as_str()).collect();
            format!("{} snapshot(s): {}", l.total_items, names.join(", "))
        }
        CallOutput::Deleted(deletion) => deletion.name().replace('_', " "),
        _ => String::new(),
    };
    shown(&text)
}

fn json_of(output: &CallOutput) -> Value {
    serde_json::to_value(output).unwrap_or(Value::Null)
}
