// Standalone Gradle build of the Gridwork Android library (module `android/`).
// Not built in CI (no Android SDK there); see build-rust.sh and jvm-test/ for what is.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "gridwork-android"
