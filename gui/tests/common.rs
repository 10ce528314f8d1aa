//! Helpers shared by the GUI tests: sample paths, and building the app in a kittest harness.

use egui_kittest::Harness;
use gui::MqscopeApp;
use gui::app::state::AppState;
use std::path::PathBuf;

/// A capture in the repository's `samples/`.
pub fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("samples")
        .join(name)
}

/// The app with `file` opened (as `mqscope-gui FILE` does), in a window-sized harness.
pub fn harness_with(file: Option<PathBuf>) -> Harness<'static, MqscopeApp> {
    let app = MqscopeApp::new(AppState::default(), file);
    Harness::builder()
        .with_size(egui::vec2(1280.0, 1100.0))
        .build_ui_state(|ui, app: &mut MqscopeApp| app.show(ui), app)
}

/// Steps the harness until the capture has finished loading (bounded: a stuck loader fails the
/// test instead of hanging it).
pub fn wait_loaded(harness: &mut Harness<'_, MqscopeApp>) {
    for _ in 0..20_000 {
        harness.step();
        let app = harness.state();
        if app
            .doc
            .as_ref()
            .is_some_and(|d| !d.is_loading() && d.progress.done)
        {
            // A few more frames so the panels show the final state.
            harness.run_steps(3);
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    panic!("the capture did not finish loading");
}

/// The loaded app's number of displayed rows.
pub fn displayed(harness: &Harness<'_, MqscopeApp>) -> usize {
    harness.state().doc.as_ref().map_or(0, |d| d.table.len())
}
