//! The scenarios shipped in `scenarios/`, compiled into the binary so `petrel scenario list`
//! and `petrel scenario run NAME` work from any directory.

use super::file;
use super::step::Scenario;

/// A bundled scenario file.
#[derive(Clone, Copy, Debug)]
pub struct Bundled {
    /// Its name: the file stem (`open-channel`).
    pub name: &'static str,
    /// Its path in the repository.
    pub path: &'static str,
    /// Its text.
    pub text: &'static str,
}

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        &[$(Bundled {
            name: $name,
            path: concat!("scenarios/", $name, ".toml"),
            text: include_str!(concat!("../../scenarios/", $name, ".toml")),
        }),*]
    };
}

/// Every bundled scenario, in the order `petrel scenario list` shows them.
pub const BUNDLED: &[Bundled] = bundled![
    "open-channel",
    "many-channels",
    "restart-mid-funding",
    "coop-close",
    "force-close",
    "payments",
];

/// The bundled scenario called `name`.
pub fn find(name: &str) -> Option<&'static Bundled> {
    BUNDLED.iter().find(|b| b.name == name)
}

impl Bundled {
    /// The parsed scenario (bundled files are valid: a test checks it).
    pub fn scenario(&self) -> Result<Scenario, file::FileErrors> {
        file::parse(self.text, self.path, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_scenario_is_valid_and_described() {
        for b in BUNDLED {
            let s = b.scenario().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                s.name, b.name,
                "{}: `name` should match the file stem",
                b.path
            );
            assert!(!s.description.is_empty(), "{} has no description", b.path);
            assert!(s.description.lines().count() == 1, "{}: one line", b.path);
        }
    }

    #[test]
    fn every_file_in_scenarios_is_bundled() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".toml").map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let mut bundled: Vec<String> = BUNDLED.iter().map(|b| b.name.to_string()).collect();
        bundled.sort();
        assert_eq!(on_disk, bundled);
    }
}
