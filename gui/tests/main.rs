//! The GUI's integration tests, in one binary (eframe and wgpu are linked once):
//! - `app_kittest`: the real app driven through its widgets with egui_kittest;
//! - `live`: live capture through the dialog (libpcap on lo, mosquitto, mosquitto_pub);
//! - `smoke`: the real binary in a real window under Xvfb, screenshotted.

mod app_kittest;
mod common;
mod live;
mod smoke;
