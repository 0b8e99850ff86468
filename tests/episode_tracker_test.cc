// EpisodeTracker (learner/episode_tracker.h): finished episodes (return, length) rebuilt from
// the trajectories a learner receives. Episodes inside one trajectory and across several,
// truncation, independent actors and columns; and the rule that no return is ever made up: an
// episode not seen from its first step (the run's start, or a gap in an actor's sequence)
// is never reported.
#include "learner/episode_tracker.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace colony {
namespace {

// One env column over T steps, written as a string with one letter per step t:
//   '.' a plain step, 'f' obs[t] is the first of an episode, 'e' step t terminated the
//   episode, 'x' step t truncated it, 'b' both first and terminated (a one-step episode).
// rewards[t] is the reward of step t. Only what EpisodeTracker reads is filled in.
Trajectory Column(const std::string& steps, const std::vector<float>& rewards) {
  const auto t = static_cast<std::int64_t>(steps.size());
  Trajectory trajectory;
  trajectory.first = torch::zeros({t + 1, 1}, torch::kBool);
  trajectory.terminated = torch::zeros({t, 1}, torch::kBool);
  trajectory.truncated = torch::zeros({t, 1}, torch::kBool);
  trajectory.actions = torch::zeros({t, 1}, torch::kLong);
  trajectory.rewards = torch::tensor(rewards).reshape({t, 1});
  for (std::int64_t i = 0; i < t; ++i) {
    const char step = steps[static_cast<std::size_t>(i)];
    if (step == 'f' || step == 'b') trajectory.first[i][0].fill_(true);
    if (step == 'e' || step == 'b') trajectory.terminated[i][0].fill_(true);
    if (step == 'x') trajectory.truncated[i][0].fill_(true);
  }
  return trajectory;
}

// Columns side by side: a trajectory of several envs.
Trajectory SideBySide(const std::vector<Trajectory>& columns) {
  auto cat = [&](auto field) {
    std::vector<torch::Tensor> parts;
    for (const Trajectory& column : columns) parts.push_back(field(column));
    return torch::cat(parts, /*dim=*/1);
  };
  Trajectory trajectory;
  trajectory.first = cat([](const Trajectory& c) { return c.first; });
  trajectory.terminated = cat([](const Trajectory& c) { return c.terminated; });
  trajectory.truncated = cat([](const Trajectory& c) { return c.truncated; });
  trajectory.actions = cat([](const Trajectory& c) { return c.actions; });
  trajectory.rewards = cat([](const Trajectory& c) { return c.rewards; });
  return trajectory;
}

struct Episode {
  int column;
  double episode_return;
  std::int64_t length;
  bool operator==(const Episode&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Episode& e) {
  return out << "{column " << e.column << ", return " << e.episode_return << ", length "
             << e.length << "}";
}

std::vector<Episode> Episodes(const std::vector<env::EpisodeStats>& stats) {
  std::vector<Episode> episodes;
  for (const auto& s : stats) episodes.push_back({s.env_index, s.episode_return, s.length});
  return episodes;
}

TEST(EpisodeTracker, EpisodesInsideOneTrajectory) {
  EpisodeTracker tracker;
  // Episode 1: steps 0-2 (return 1+2+3); episode 2: step 3 alone; episode 3 starts at step 4.
  const auto finished = tracker.Add(/*actor_rank=*/1, /*sequence=*/0,
                                    Column("f.ebf", {1, 2, 3, 4, 5}));
  EXPECT_EQ(Episodes(finished), (std::vector<Episode>{{0, 6.0, 3}, {0, 4.0, 1}}));
  const auto truncated = tracker.Add(1, 1, Column("..x", {10, 20, 30}));
  EXPECT_EQ(Episodes(truncated), (std::vector<Episode>{{0, 65.0, 4}}))
      << "truncation ends an episode as termination does";
}

TEST(EpisodeTracker, AnEpisodeSpanningTrajectoriesIsReportedOnceWhole) {
  EpisodeTracker tracker;
  EXPECT_TRUE(tracker.Add(1, 0, Column("f..", {1, 1, 1})).empty());
  EXPECT_TRUE(tracker.Add(1, 1, Column("...", {2, 2, 2})).empty());
  EXPECT_EQ(Episodes(tracker.Add(1, 2, Column(".e.", {3, 3, 3}))),
            (std::vector<Episode>{{0, 1 + 1 + 1 + 2 + 2 + 2 + 3 + 3, 8}}));
}

TEST(EpisodeTracker, AnEpisodeNotSeenFromItsStartIsNeverReported) {
  EpisodeTracker tracker;
  // The tracker joins mid-episode: that episode's return is unknown.
  EXPECT_TRUE(tracker.Add(1, 0, Column("..e", {5, 5, 5})).empty());
  EXPECT_EQ(Episodes(tracker.Add(1, 1, Column("f.e", {1, 2, 3}))),
            (std::vector<Episode>{{0, 6.0, 3}}));
}

TEST(EpisodeTracker, AGapInTheSequenceForgetsPartialEpisodes) {
  EpisodeTracker tracker;
  EXPECT_TRUE(tracker.Add(1, 0, Column(".f.", {1, 1, 1})).empty());
  // Sequence 1 was dropped: the episode that began at sequence 0 ends here with a return
  // the learner cannot know, so it is not reported; the next one, seen whole, is.
  EXPECT_EQ(Episodes(tracker.Add(1, 2, Column(".ef.e", {1, 1, 7, 8, 9}))),
            (std::vector<Episode>{{0, 24.0, 3}}));
}

TEST(EpisodeTracker, ActorsAndColumnsAreTrackedIndependently) {
  EpisodeTracker tracker;
  // Actor 1 has two columns; actor 2, interleaved with it, has one.
  EXPECT_TRUE(tracker.Add(1, 0, SideBySide({Column("f.", {1, 1}), Column("ff", {2, 2})})).empty());
  EXPECT_TRUE(tracker.Add(2, 0, Column("f.", {100, 100})).empty());
  EXPECT_EQ(Episodes(tracker.Add(1, 1, SideBySide({Column(".e", {1, 1}), Column("e.", {3, 0})}))),
            (std::vector<Episode>{{1, 5.0, 2}, {0, 4.0, 4}}))
      << "episodes come out in step order, then column order";
  EXPECT_EQ(Episodes(tracker.Add(2, 1, Column("e", {100}))),
            (std::vector<Episode>{{0, 300.0, 3}}))
      << "actor 1's traffic is no gap for actor 2";
}

}  // namespace
}  // namespace colony
