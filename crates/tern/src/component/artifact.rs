//! Precompiled component artifacts (`Component::serialize` /
//! `Component::deserialize`): not written yet.
