#include "transport/fallback_volume_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "transport/agent_map.h"
#include "transport/replica_order.h"

namespace seaweed::transport {
namespace {

// A scripted VolumeReader: answers with bytes of `fill` or with a fixed error.
class FakeReader : public VolumeReader {
 public:
  explicit FakeReader(char fill) : fill_(fill) {}
  Result<size_t> read_range(const NeedleLocator& loc, uint64_t, std::span<char> dst) override {
    ++calls;
    last_urls = loc.urls;
    if (error) return *error;
    std::memset(dst.data(), fill_, dst.size());
    return dst.size();
  }
  Result<StoredNeedle> read_whole(const NeedleLocator& loc) override {
    ++calls;
    last_urls = loc.urls;
    if (error) return *error;
    return StoredNeedle{std::string(8, fill_), false};
  }
  int calls = 0;
  std::optional<Error> error;
  std::vector<std::string> last_urls;

 private:
  char fill_;
};

// urls in the order the readers try them: placed so that first_replica(key) lands on the first.
std::vector<std::string> in_try_order(uint64_t key, std::vector<std::string> order) {
  std::vector<std::string> urls(order.size());
  const size_t start = first_replica(key, order.size());
  for (size_t i = 0; i < order.size(); ++i) urls[(start + i) % order.size()] = order[i];
  return urls;
}

NeedleLocator loc() {
  return NeedleLocator{FileId{3, 1, 2}, "3,0100000002", in_try_order(1, {"vs1:8080", "vs2:8080"})};
}

struct Fixture : ::testing::Test {
  FakeReader http{'h'};
  std::shared_ptr<FakeReader> agent = std::make_shared<FakeReader>('r');
  FallbackVolumeReader::AgentLookup lookup = [this](const std::string& url) -> std::shared_ptr<VolumeReader> {
    return url == "vs1:8080" ? agent : nullptr;
  };
};

TEST_F(Fixture, AgentServesWhenHealthy) {
  FallbackVolumeReader r(http, lookup, {});
  char buf[4];
  auto n = r.read_range(loc(), 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf[0], 'r');
  EXPECT_EQ(http.calls, 0);
}

TEST_F(Fixture, AnyAgentErrorFallsBackToHttpAndBacksOff) {
  FallbackVolumeReader r(http, lookup, {true, std::chrono::milliseconds(60000), std::chrono::milliseconds(60000)});
  agent->error = make_error(ECONNRESET, "peer gone");
  char buf[4];
  auto n = r.read_range(loc(), 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf[0], 'h');
  EXPECT_EQ(agent->calls, 1);
  // Backing off: the next read does not wait for the agent again.
  ASSERT_TRUE(r.read_whole(loc()).ok());
  EXPECT_EQ(agent->calls, 1);
  EXPECT_EQ(http.calls, 2);
}

TEST_F(Fixture, MissFallsBackWithoutMarkingDown) {
  FallbackVolumeReader r(http, lookup, {});
  agent->error = make_error(ENOENT, "needle not here");
  char buf[4];
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());
  EXPECT_EQ(agent->calls, 2);  // still tried: a miss says nothing about health
  EXPECT_EQ(http.calls, 2);
}

TEST_F(Fixture, NoFallbackSurfacesTheAgentError) {
  FallbackVolumeReader r(http, lookup, {false});
  agent->error = make_error(ETIMEDOUT, "slow");
  char buf[4];
  auto n = r.read_range(loc(), 0, buf);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ETIMEDOUT);
  EXPECT_EQ(http.calls, 0);
}

TEST_F(Fixture, NoFallbackAlsoWhileTheAgentBacksOff) {
  FallbackVolumeReader r(http, lookup, {false, std::chrono::milliseconds(60000), std::chrono::milliseconds(60000)});
  agent->error = make_error(ECONNRESET, "peer gone");
  char buf[4];
  ASSERT_FALSE(r.read_range(loc(), 0, buf).ok());
  auto second = r.read_range(loc(), 0, buf);  // agent skipped (backing off): still no HTTP
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, EIO);
  EXPECT_EQ(http.calls, 0);
}

TEST_F(Fixture, OneOutageRaisesTheBackoffOnce) {
  // Many in-flight requests failing together must not push the backoff to its ceiling.
  FallbackVolumeReader r(http, lookup, {true, std::chrono::milliseconds(30), std::chrono::milliseconds(60000)});
  agent->error = make_error(ECONNRESET, "peer gone");
  char buf[4];
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());
  agent->error.reset();
  // After the first backoff (30 ms) the agent is tried again and serves.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (agent->calls < 2 && std::chrono::steady_clock::now() < deadline) ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());
  EXPECT_EQ(agent->calls, 2);
  EXPECT_EQ(buf[0], 'r');
}

TEST_F(Fixture, NoAgentMeansHttp) {
  FallbackVolumeReader r(http, [](const std::string&) { return nullptr; }, {});
  ASSERT_TRUE(r.read_whole(loc()).ok());
  EXPECT_EQ(http.calls, 1);
}

// Both replicas with an agent.
struct TwoAgents : Fixture {
  std::shared_ptr<FakeReader> agent2 = std::make_shared<FakeReader>('s');
  FallbackVolumeReader::AgentLookup lookup2 = [this](const std::string& url) -> std::shared_ptr<VolumeReader> {
    return url == "vs1:8080" ? agent : url == "vs2:8080" ? agent2 : nullptr;
  };
};

TEST_F(TwoAgents, CorruptReplicaTriesTheNextReplicasAgentAndKeepsTheAgentUp) {
  FallbackVolumeReader r(http, lookup2, {true, std::chrono::milliseconds(60000), std::chrono::milliseconds(60000)});
  agent->error = make_error(EBADMSG, "CRC32C mismatch");
  char buf[4];
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());
  EXPECT_EQ(buf[0], 's');
  EXPECT_EQ(http.calls, 0);
  agent->error.reset();
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());  // not backing off: a bad copy is not a sick agent
  EXPECT_EQ(buf[0], 'r');
  EXPECT_EQ(agent->calls, 2);
}

TEST_F(TwoAgents, AFailedAgentSendsTheRequestToTheNextReplicasAgentNotHttp) {
  FallbackVolumeReader r(http, lookup2, {true, std::chrono::milliseconds(60000), std::chrono::milliseconds(60000)});
  agent->error = make_error(ETIMEDOUT, "no answer");
  char buf[4];
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());
  EXPECT_EQ(buf[0], 's');
  EXPECT_EQ(http.calls, 0);
  ASSERT_TRUE(r.read_whole(loc()).ok());  // the first agent backs off: straight to the second
  EXPECT_EQ(agent->calls, 1);
  EXPECT_EQ(agent2->calls, 2);
  EXPECT_EQ(http.calls, 0);
  agent2->error = make_error(ECONNRESET, "gone too");
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());  // no agent left: HTTP
  EXPECT_EQ(buf[0], 'h');
  EXPECT_EQ(http.calls, 1);
}

TEST_F(TwoAgents, AMissGoesToHttpWithoutAskingTheNextAgent) {
  FallbackVolumeReader r(http, lookup2, {});
  agent->error = make_error(ENOENT, "needle not here yet");
  char buf[4];
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());
  EXPECT_EQ(buf[0], 'h');
  EXPECT_EQ(agent2->calls, 0);
}

TEST(ServerHealth, BacksOffDoublingOncePerOutageAndForgetsAtASuccess) {
  ServerHealth health("test", {std::chrono::milliseconds(20), std::chrono::milliseconds(40)});
  EXPECT_FALSE(health.any_record());
  EXPECT_FALSE(health.down("a"));
  health.mark_up("a");  // nothing recorded: no-op
  health.mark_down("a", make_error(ETIMEDOUT, "t"));
  health.mark_down("a", make_error(ETIMEDOUT, "t"));  // same outage: still 20 ms
  EXPECT_TRUE(health.any_record());
  EXPECT_TRUE(health.down("a"));
  EXPECT_FALSE(health.down("b"));
  bool recovering = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (health.down("a", recovering) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(recovering);  // the probe: it failed before, so its success must be reported
  health.mark_up("a");
  EXPECT_FALSE(health.any_record());
  EXPECT_FALSE(health.down("a", recovering));
  EXPECT_FALSE(recovering);
}

TEST(ServerHealth, AfterTheBackoffOneCallerProbesAndTheOthersKeepSkipping) {
  ServerHealth health("test", {std::chrono::milliseconds(30), std::chrono::milliseconds(60000)});
  health.mark_down("a", make_error(ETIMEDOUT, "t"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (health.down("a") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(health.down("a"));                               // the probe is out: the others skip it
  health.mark_down("a", make_error(ETIMEDOUT, "still gone"));  // the probe failed: 60 ms now
  std::this_thread::sleep_for(std::chrono::milliseconds(35));
  EXPECT_TRUE(health.down("a"));
}

TEST_F(Fixture, HttpSkipsTheReplicaAnAgentFoundCorrupt) {
  FallbackVolumeReader r(http, lookup, {});
  agent->error = make_error(EBADMSG, "CRC32C mismatch");
  char buf[4];
  ASSERT_TRUE(r.read_range(loc(), 0, buf).ok());
  EXPECT_EQ(buf[0], 'h');
  EXPECT_EQ(http.last_urls, std::vector<std::string>{"vs2:8080"});
  ASSERT_TRUE(r.read_whole(loc()).ok());
  EXPECT_EQ(http.last_urls, std::vector<std::string>{"vs2:8080"});
}

TEST_F(Fixture, AReplicaAnAgentFoundCorruptIsStillAskedOverHttpLast) {
  // The agent read a bad copy (e.g. a mapping older than a vacuum); the volume server's own copy,
  // verified by HTTP, may be good: the application must not see an error HTTP could avoid.
  FallbackVolumeReader r(http, lookup, {});
  agent->error = make_error(EBADMSG, "CRC32C mismatch");
  NeedleLocator one = loc();
  one.urls = {"vs1:8080"};
  char buf[4];
  ASSERT_TRUE(r.read_range(one, 0, buf).ok());
  EXPECT_EQ(buf[0], 'h');
  EXPECT_EQ(http.last_urls, std::vector<std::string>{"vs1:8080"});
}

TEST_F(TwoAgents, NoGoodReplicaNamesEachAgentAndHttp) {
  FallbackVolumeReader r(http, lookup2, {});
  agent->error = make_error(EBADMSG, "needle 3,0100000002: CRC32C mismatch");
  agent2->error = make_error(EBADMSG, "needle 3,0100000002: CRC32C mismatch");
  http.error = make_error(EBADMSG, "no good replica: vs1:8080: HTTP 500; vs2:8080: HTTP 500");
  char buf[4];
  auto n = r.read_range(loc(), 0, buf);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, EBADMSG);
  EXPECT_EQ(n.error().message,
            "agent for vs1:8080: needle 3,0100000002: CRC32C mismatch; agent for vs2:8080: needle "
            "3,0100000002: CRC32C mismatch; no good replica: vs1:8080: HTTP 500; vs2:8080: HTTP 500");
  EXPECT_EQ(http.calls, 1);
  EXPECT_EQ(http.last_urls.size(), 2u);
}

TEST_F(Fixture, HttpFailureAfterACorruptAgentNamesBoth) {
  FallbackVolumeReader r(http, lookup, {});
  agent->error = make_error(EBADMSG, "CRC32C mismatch");
  http.error = make_error(EIO, "read 3,0100000002 [0,+4): vs2:8080: HTTP 500");
  char buf[4];
  auto n = r.read_range(loc(), 0, buf);
  ASSERT_FALSE(n.ok());
  // vs2 first (no agent found it bad), then vs1 (its agent did); the fake fails both alike.
  EXPECT_EQ(n.error().message,
            "agent for vs1:8080: CRC32C mismatch; read 3,0100000002 [0,+4): vs2:8080: HTTP 500; read 3,0100000002 "
            "[0,+4): vs2:8080: HTTP 500");
  EXPECT_EQ(http.calls, 2);
  EXPECT_EQ(http.last_urls, std::vector<std::string>{"vs1:8080"});
}

TEST(FirstReplica, SpreadsKeysOverReplicas) {
  for (size_t n : {2u, 3u, 5u}) {
    std::vector<int> starts(n);
    for (uint64_t key = 1; key <= 3000; ++key) ++starts[first_replica(key, n)];
    for (int s : starts) EXPECT_GT(s, 3000 / static_cast<int>(n) * 8 / 10) << "n=" << n;
  }
  // Consecutive keys (as the master hands them out) and large ones alike.
  std::vector<int> starts(3);
  for (uint64_t key = 0xFFFF0000; key < 0xFFFF0000 + 3000; ++key) ++starts[first_replica(key, 3)];
  for (int s : starts) EXPECT_GT(s, 800);
  EXPECT_EQ(first_replica(12345, 1), 0u);
  EXPECT_EQ(first_replica(12345, 0), 0u);
}

TEST(FallbackVolumeReader, EveryReplicasAgentServesItsShare) {
  FakeReader http('h');
  std::vector<std::shared_ptr<FakeReader>> agents;
  for (char c : {'a', 'b', 'c'}) agents.push_back(std::make_shared<FakeReader>(c));
  FallbackVolumeReader r(http,
                         [&](const std::string& url) -> std::shared_ptr<VolumeReader> {
                           return agents[static_cast<size_t>(url[2] - '0')];
                         },
                         {});
  char buf[4];
  for (uint64_t key = 1; key <= 300; ++key) {
    const NeedleLocator l{FileId{3, key, 2}, FileId{3, key, 2}.to_string(), {"vs0:8080", "vs1:8080", "vs2:8080"}};
    ASSERT_TRUE(r.read_range(l, 0, buf).ok());
    EXPECT_EQ(buf[0], "abc"[first_replica(key, 3)]);  // the same replica the HTTP loop starts at
  }
  for (const auto& a : agents) EXPECT_GT(a->calls, 80);
  EXPECT_EQ(http.calls, 0);
}

// An agent that answers, but late (a lossy link): reads move to the other replica's agent, and
// it still gets a probe now and then.
TEST(FallbackVolumeReader, ReadsLeaveAnAgentThatAnswersSlowly) {
  struct SlowReader : FakeReader {
    using FakeReader::FakeReader;
    Result<size_t> read_range(const NeedleLocator& l, uint64_t o, std::span<char> dst) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the slow link, not a synchronisation
      return FakeReader::read_range(l, o, dst);
    }
  };
  FakeReader http('h');
  auto slow = std::make_shared<SlowReader>('s');
  auto fast = std::make_shared<FakeReader>('f');
  FallbackVolumeReader r(http,
                         [&](const std::string& url) -> std::shared_ptr<VolumeReader> {
                           return url == "vs0:8080" ? std::shared_ptr<VolumeReader>(slow) : fast;
                         },
                         {});
  std::vector<char> buf(64 * 1024);
  for (uint64_t key = 1; key <= 200; ++key) {
    const NeedleLocator l{FileId{3, key, 2}, FileId{3, key, 2}.to_string(), {"vs0:8080", "vs1:8080"}};
    ASSERT_TRUE(r.read_range(l, 0, buf).ok());
  }
  // without the policy the slow agent would take its ~100 of the 200 reads
  EXPECT_GE(slow->calls, static_cast<int>(ReplicaSpeed::kMinSamples));
  EXPECT_LE(slow->calls, 20);
  EXPECT_GT(r.speed().cost("vs0:8080"), 8 * r.speed().cost("vs1:8080"));
  EXPECT_EQ(http.calls, 0);
}

TEST(AgentMap, ParseAndExplicitEntriesWin) {
  auto parsed = AgentMap::parse("vs1:8080=127.0.0.1:9000,http://vs2:8080=127.0.0.1:9001");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->at("vs2:8080"), "127.0.0.1:9001");
  EXPECT_FALSE(AgentMap::parse("nonsense").ok());
  EXPECT_FALSE(AgentMap::parse("vs=noport").ok());
  int connects = 0, kv_calls = 0;
  AgentMap map(
      *parsed,
      [&](const std::string&) -> Result<std::string> {
        ++kv_calls;
        return std::string("x:1");
      },
      [&](const std::string&) -> std::shared_ptr<VolumeReader> {
        ++connects;
        return std::make_shared<FakeReader>('a');
      });
  EXPECT_TRUE(map.agent_for("vs1:8080"));
  EXPECT_TRUE(map.agent_for("vs1:8080"));
  EXPECT_FALSE(map.agent_for("vs3:8080"));
  EXPECT_EQ(connects, 1);  // one reader per agent, reused
  EXPECT_EQ(kv_calls, 0);  // an explicit map means no discovery
}

TEST(AgentMap, DiscoveryThroughKvIsCached) {
  int kv_calls = 0;
  AgentMap map(
      {},
      [&](const std::string& key) -> Result<std::string> {
        ++kv_calls;
        return key == std::string(kAgentKeyPrefix) + "vs1:8080" ? std::string("127.0.0.1:9000") : std::string();
      },
      [](const std::string&) -> std::shared_ptr<VolumeReader> { return std::make_shared<FakeReader>('a'); },
      std::chrono::seconds(3600));
  EXPECT_TRUE(map.agent_for("vs1:8080"));
  EXPECT_FALSE(map.agent_for("vs2:8080"));
  EXPECT_TRUE(map.agent_for("vs1:8080"));
  EXPECT_EQ(kv_calls, 2);
}

}  // namespace
}  // namespace seaweed::transport
