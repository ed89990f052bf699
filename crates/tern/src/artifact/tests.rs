//! Unit tests of the artifact format: mismatches that no real engine of this build can produce.
