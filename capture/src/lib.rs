//! `capture`: turns captures (pcap, pcapng, live libpcap) into ordered MQTT byte streams per
//! connection and direction, and feeds them to the dissector.
#![deny(rustdoc::broken_intra_doc_links)]
