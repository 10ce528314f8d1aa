//! Loading off the UI thread: a background thread runs a capture source (file or live), feeds
//! its events to the analyzer inside the [`SharedTrace`], and reports progress over a channel.
//!
//! The packets themselves are not copied through the channel: the analyzer appends them to the
//! shared trace in batches, the channel says how far it got, and the UI's table takes in the new
//! rows on its next frame. The loader takes the trace's lock per event and steps aside whenever
//! the UI asks for it ([`SharedTrace::lock_for_ui`]), so the window never waits for more than
//! one event.

use dissector::input::{EventSink, StreamEvent};
use dissector::model::Trace;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Something that holds a trace: the analyzer while a capture is read, the finished trace after.
pub trait TraceHolder: Send {
    /// The trace as far as it is known.
    fn trace(&self) -> &Trace;
    /// Where new events go (None once finished).
    fn event_sink(&mut self) -> Option<&mut dyn EventSink> {
        None
    }
    /// Ends the analysis (flows still open become "incomplete at capture end") and returns the
    /// final holder.
    fn finish(self: Box<Self>) -> Box<dyn TraceHolder>;
}

impl TraceHolder for Trace {
    fn trace(&self) -> &Trace {
        self
    }
    fn finish(self: Box<Self>) -> Box<dyn TraceHolder> {
        self
    }
}

/// The trace, shared by the loading thread and the UI.
pub struct SharedTrace {
    holder: Mutex<Box<dyn TraceHolder>>,
    /// Set by the UI while it waits for the lock; the loader yields when it sees it.
    ui_waiting: AtomicBool,
}

/// A locked trace holder.
pub type TraceGuard<'a> = MutexGuard<'a, Box<dyn TraceHolder>>;

impl SharedTrace {
    /// Shares a holder.
    pub fn new(holder: Box<dyn TraceHolder>) -> Arc<SharedTrace> {
        Arc::new(SharedTrace {
            holder: Mutex::new(holder),
            ui_waiting: AtomicBool::new(false),
        })
    }

    /// Locks for the UI: the loader lets go at its next batch boundary.
    pub fn lock_for_ui(&self) -> TraceGuard<'_> {
        self.ui_waiting.store(true, Ordering::Release);
        let guard = self.lock();
        self.ui_waiting.store(false, Ordering::Release);
        guard
    }

    /// Locks (a panic on the loading thread must not take the UI down with it).
    fn lock(&self) -> TraceGuard<'_> {
        self.holder.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True when the UI is waiting for the lock.
    fn ui_is_waiting(&self) -> bool {
        self.ui_waiting.load(Ordering::Acquire)
    }
}

/// How far loading got.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadProgress {
    /// Bytes of the capture read.
    pub bytes_read: u64,
    /// Size of the capture file, when known (not for live captures or pipes).
    pub total_bytes: Option<u64>,
    /// Frames read.
    pub frames: u64,
    /// Events fed to the analyzer.
    pub events: u64,
    /// True once the source has ended (or was cancelled, or failed).
    pub done: bool,
    /// True when the user cancelled.
    pub cancelled: bool,
    /// Why the source stopped early (the trace keeps what was read before).
    pub error: Option<String>,
    /// Time since loading started.
    pub elapsed: Duration,
}

impl LoadProgress {
    /// Fraction done, when the size is known.
    pub fn fraction(&self) -> Option<f32> {
        let total = self.total_bytes.filter(|&t| t > 0)?;
        Some((self.bytes_read as f64 / total as f64).clamp(0.0, 1.0) as f32)
    }
}

/// What a source reports while it runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceProgress {
    /// Bytes read.
    pub bytes_read: u64,
    /// Total bytes, when known.
    pub total_bytes: Option<u64>,
    /// Frames read.
    pub frames: u64,
}

/// A capture source run on the loading thread: it sends every event to `sink`, reports
/// progress, and stops early when `cancel` is set. It returns an error message when it could
/// not finish (what it sent before stays in the trace). A sink rather than a closure, so that
/// packets the framer assembled travel to the analysis thread in their own buffers
/// ([`EventSink::packet_in_buffer`]) instead of being copied.
pub type Producer = Box<
    dyn FnOnce(
            &mut dyn EventSink,
            &mut dyn FnMut(SourceProgress),
            &AtomicBool,
        ) -> Result<(), String>
        + Send,
>;

/// Progress messages at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// A running background load (or live capture).
pub struct LoadJob {
    cancel: Arc<AtomicBool>,
    rx: Receiver<LoadProgress>,
    handle: Option<JoinHandle<()>>,
}

impl LoadJob {
    /// Starts `producer` (a file) on a new thread, feeding the holder in `shared`. `wake` is
    /// called after each progress message (the app passes `egui::Context::request_repaint`).
    /// The analysis runs on a further thread, fed in batches (`capture::relay`).
    pub fn spawn(
        shared: Arc<SharedTrace>,
        producer: Producer,
        wake: Option<Box<dyn Fn() + Send>>,
    ) -> std::io::Result<LoadJob> {
        let cancel = Arc::new(AtomicBool::new(false));
        LoadJob::start(shared, producer, wake, cancel, Pace::Batched)
    }

    /// Like [`LoadJob::spawn`] for a live capture: with a cancel flag the source also watches
    /// (the stop flag, checked by libpcap's read loop), and each event analysed as it arrives
    /// so packets appear at once.
    pub fn spawn_with_cancel(
        shared: Arc<SharedTrace>,
        producer: Producer,
        wake: Option<Box<dyn Fn() + Send>>,
        cancel: Arc<AtomicBool>,
    ) -> std::io::Result<LoadJob> {
        LoadJob::start(shared, producer, wake, cancel, Pace::AsItArrives)
    }

    fn start(
        shared: Arc<SharedTrace>,
        producer: Producer,
        wake: Option<Box<dyn Fn() + Send>>,
        cancel: Arc<AtomicBool>,
        pace: Pace,
    ) -> std::io::Result<LoadJob> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread_cancel = Arc::clone(&cancel);
        let handle = std::thread::Builder::new()
            .name("mqscope-loader".into())
            .spawn(move || run(shared, producer, &thread_cancel, &tx, wake.as_deref(), pace))?;
        Ok(LoadJob {
            cancel,
            rx,
            handle: Some(handle),
        })
    }

    /// Asks the source to stop; the job then finishes with what it has.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }

    /// The newest progress (if any arrived) and whether the job has finished.
    pub fn poll(&mut self) -> (Option<LoadProgress>, bool) {
        let mut newest = None;
        loop {
            match self.rx.try_recv() {
                Ok(p) => {
                    let done = p.done;
                    newest = Some(p);
                    if done {
                        self.join();
                        return (newest, true);
                    }
                }
                Err(TryRecvError::Empty) => return (newest, false),
                Err(TryRecvError::Disconnected) => {
                    // The thread ended without a final message: it panicked.
                    self.join();
                    let mut p = newest.unwrap_or_default();
                    p.done = true;
                    p.error
                        .get_or_insert_with(|| "the loading thread stopped unexpectedly".into());
                    return (Some(p), true);
                }
            }
        }
    }

    fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for LoadJob {
    fn drop(&mut self) {
        // Closing a capture while it loads: ask the thread to stop. Join it only when it has
        // already ended: a live capture blocked in libpcap on an idle interface may take until
        // its next frame to see the flag, and the window must not freeze meanwhile.
        self.cancel();
        if self.handle.as_ref().is_some_and(JoinHandle::is_finished) {
            self.join();
        }
    }
}

/// How events travel from the source to the analyzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// The analyzer on a second thread, events handed over in batches (`capture::relay`):
    /// reading and analysis overlap, which halves a large file's load time on two cores. A
    /// batch leaves when full, so a source that pauses would hold its last events back.
    Batched,
    /// Each event analysed on the loading thread as it arrives: a live capture's packets show
    /// up at once.
    AsItArrives,
}

fn run(
    shared: Arc<SharedTrace>,
    producer: Producer,
    cancel: &AtomicBool,
    tx: &Sender<LoadProgress>,
    wake: Option<&(dyn Fn() + Send)>,
    pace: Pace,
) {
    let started = Instant::now();
    let mut progress = LoadProgress::default();
    let mut last_sent = Instant::now();
    let mut events = 0u64;
    let mut source_progress = SourceProgress::default();
    let result = {
        let mut sink = |ev: StreamEvent<'_>| {
            // The lock is taken per event (uncontended it costs tens of nanoseconds: under 1 %
            // of a load, measured), never held while the source waits for input, and the UI
            // goes first when it asks.
            while shared.ui_is_waiting() {
                std::thread::yield_now();
            }
            let mut guard = shared.lock();
            if let Some(s) = guard.event_sink() {
                s.event(ev);
            }
            events += 1;
        };
        let mut on_progress = |p: SourceProgress| {
            source_progress = p;
            if last_sent.elapsed() >= PROGRESS_EVERY {
                last_sent = Instant::now();
                let _ = tx.send(LoadProgress {
                    bytes_read: p.bytes_read,
                    total_bytes: p.total_bytes,
                    frames: p.frames,
                    events: 0,
                    done: false,
                    cancelled: false,
                    error: None,
                    elapsed: started.elapsed(),
                });
                if let Some(w) = wake {
                    w();
                }
            }
        };
        match pace {
            Pace::Batched => capture::relay::offload(&mut sink, |relay| {
                producer(relay, &mut on_progress, cancel)
            }),
            Pace::AsItArrives => producer(&mut sink, &mut on_progress, cancel),
        }
    };
    let mut guard = shared.lock();
    let holder = std::mem::replace(&mut *guard, Box::new(Trace::new()));
    *guard = holder.finish();
    drop(guard);
    progress.bytes_read = source_progress.bytes_read;
    progress.total_bytes = source_progress.total_bytes;
    progress.frames = source_progress.frames;
    progress.events = events;
    progress.done = true;
    progress.cancelled = cancel.load(Ordering::Acquire);
    progress.error = result.err();
    progress.elapsed = started.elapsed();
    let _ = tx.send(progress);
    if let Some(w) = wake {
        w();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dissector::input::{ConnectionOpened, RoleSource, Timestamp, Transport};

    /// Counts events into a trace's connection list, standing in for the analyzer.
    struct Counter {
        trace: Trace,
        finished: bool,
    }

    impl EventSink for Counter {
        fn event(&mut self, _event: StreamEvent<'_>) {
            self.trace.totals.packets += 1;
        }
    }

    impl TraceHolder for Counter {
        fn trace(&self) -> &Trace {
            &self.trace
        }
        fn event_sink(&mut self) -> Option<&mut dyn EventSink> {
            Some(self)
        }
        fn finish(mut self: Box<Self>) -> Box<dyn TraceHolder> {
            self.finished = true;
            self.trace.totals.frames = u64::from(self.finished);
            Box::new(self.trace)
        }
    }

    fn opened() -> StreamEvent<'static> {
        StreamEvent::Opened(ConnectionOpened {
            stream: 0,
            client: ([127, 0, 0, 1], 5000).into(),
            broker: ([127, 0, 0, 1], 1883).into(),
            transport: Transport::Tcp,
            roles_from: RoleSource::Handshake,
            ts: Timestamp(0),
            frame: 1,
        })
    }

    fn wait(job: &mut LoadJob) -> LoadProgress {
        loop {
            let (p, done) = job.poll();
            if done {
                return p.unwrap_or_default();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn a_finished_load_feeds_every_event_and_finishes_the_holder() {
        let shared = SharedTrace::new(Box::new(Counter {
            trace: Trace::new(),
            finished: false,
        }));
        let producer: Producer = Box::new(|sink, progress, _cancel| {
            for i in 0..3000 {
                sink.event(opened());
                progress(SourceProgress {
                    bytes_read: i,
                    total_bytes: Some(3000),
                    frames: i,
                });
            }
            Ok(())
        });
        let mut job = LoadJob::spawn(Arc::clone(&shared), producer, None).expect("spawn");
        let p = wait(&mut job);
        assert!(p.done && !p.cancelled && p.error.is_none());
        assert_eq!(p.events, 3000);
        let guard = shared.lock_for_ui();
        assert_eq!(guard.trace().totals.packets, 3000);
        assert_eq!(guard.trace().totals.frames, 1, "finish() ran");
    }

    #[test]
    fn cancelling_stops_the_source_and_keeps_what_was_read() {
        let shared = SharedTrace::new(Box::new(Counter {
            trace: Trace::new(),
            finished: false,
        }));
        let producer: Producer = Box::new(|sink, _progress, cancel| {
            // An endless source (like a live capture) that honours the flag.
            while !cancel.load(Ordering::Acquire) {
                sink.event(opened());
                std::thread::yield_now();
            }
            Ok(())
        });
        let mut job = LoadJob::spawn(Arc::clone(&shared), producer, None).expect("spawn");
        // The UI can take the lock while the source runs.
        while shared.lock_for_ui().trace().totals.packets == 0 {
            std::thread::yield_now();
        }
        job.cancel();
        let p = wait(&mut job);
        assert!(p.cancelled);
        assert!(shared.lock_for_ui().trace().totals.packets > 0);
    }

    #[test]
    fn a_failing_source_reports_its_error() {
        let shared = SharedTrace::new(Box::new(Trace::new()));
        let producer: Producer = Box::new(|_, _, _| Err("no such file".into()));
        let mut job = LoadJob::spawn(shared, producer, None).expect("spawn");
        assert_eq!(wait(&mut job).error.as_deref(), Some("no such file"));
    }

    #[test]
    fn progress_fraction_needs_a_known_size() {
        let p = LoadProgress {
            bytes_read: 50,
            total_bytes: Some(200),
            ..Default::default()
        };
        assert_eq!(p.fraction(), Some(0.25));
        assert_eq!(
            LoadProgress {
                total_bytes: None,
                ..Default::default()
            }
            .fraction(),
            None
        );
    }
}
