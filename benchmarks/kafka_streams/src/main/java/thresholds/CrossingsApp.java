package thresholds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The crossing job as a Kafka Streams user would write it: one follower change at a time,
 * the account's state in a RocksDB KeyValueStore (cached, with its changelog), the crossings
 * sent on; at-least-once, committing every 500 ms as our worker does. The rule is SPEC.md's
 * with the default thresholds (500,000 and 1,000,000) and hysteresis (0.02), without the
 * live redelivery check (as the Python baselines); crossing ids are the spec's uuid5.
 *
 * <p>Environment: KAFKA_BOOTSTRAP_SERVERS, THRESHOLDS_APP_ID, THRESHOLDS_DATA_DIR,
 * TOPIC_FOLLOWER_CHANGES, TOPIC_THRESHOLD_CROSSINGS.
 */
public final class CrossingsApp {
  static final long[] THRESHOLDS = {500_000L, 1_000_000L};
  // followers * 10000 < threshold * (10000 - 200): released below threshold * (1 - 0.02)
  static final long SCALE = 10_000L;
  static final long KEEP = 9_800L;
  static final long NO_SEQUENCE = Long.MIN_VALUE;
  static final String STORE = "account-state";
  static final ObjectMapper JSON = new ObjectMapper();
  static final DateTimeFormatter SECONDS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);
  static final byte[] NAMESPACE_URL = uuidBytes("6ba7b811-9dad-11d1-80b4-00c04fd430c8");

  private CrossingsApp() {}

  /** The state of one account: followers, sequence, occurred_at, above (bits), ups/downs per threshold. */
  static final class State {
    long followers;
    long sequence = NO_SEQUENCE;
    long occurredAt;
    int above;
    final long[] ups = new long[THRESHOLDS.length];
    final long[] downs = new long[THRESHOLDS.length];
    boolean seen;

    static State read(byte[] stored) {
      State s = new State();
      if (stored == null) {
        return s;
      }
      ByteBuffer b = ByteBuffer.wrap(stored);
      s.seen = true;
      s.followers = b.getLong();
      s.sequence = b.getLong();
      s.occurredAt = b.getLong();
      s.above = b.getInt();
      for (int i = 0; i < THRESHOLDS.length; i++) {
        s.ups[i] = b.getLong();
        s.downs[i] = b.getLong();
      }
      return s;
    }

    byte[] write() {
      ByteBuffer b = ByteBuffer.allocate(28 + 16 * THRESHOLDS.length);
      b.putLong(followers).putLong(sequence).putLong(occurredAt).putInt(above);
      for (int i = 0; i < THRESHOLDS.length; i++) {
        b.putLong(ups[i]).putLong(downs[i]);
      }
      return b.array();
    }
  }

  static final class Crossings implements Processor<String, byte[], String, byte[]> {
    private ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, byte[]> store;

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      this.context = context;
      this.store = context.getStateStore(STORE);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      JsonNode event;
      try {
        event = JSON.readTree(record.value());
      } catch (Exception e) {
        return; // not JSON: a baseline has no dead letters
      }
      if (event == null || !event.isObject()) {
        return;
      }
      JsonNode id = event.get("event_id");
      JsonNode platform = event.get("platform");
      JsonNode account = event.get("account_id");
      JsonNode followersNode = event.get("followers");
      JsonNode occurred = event.get("occurred_at");
      JsonNode sequenceNode = event.get("sequence");
      if (id == null || !id.isTextual() || platform == null || !platform.isTextual()
          || account == null || !account.isTextual() || followersNode == null
          || !followersNode.isIntegralNumber() || occurred == null || !occurred.isTextual()) {
        return;
      }
      long occurredAt;
      try {
        OffsetDateTime at = OffsetDateTime.parse(occurred.asText());
        occurredAt = at.toEpochSecond() * 1_000_000L + at.getNano() / 1_000;
      } catch (Exception e) {
        return;
      }
      long followers = followersNode.asLong();
      long sequence =
          sequenceNode != null && sequenceNode.isIntegralNumber() ? sequenceNode.asLong() : NO_SEQUENCE;
      String key = platform.asText() + ":" + account.asText();
      State s = State.read(store.get(key));
      Long previous = s.seen ? s.followers : null;
      if (s.seen) {
        if (sequence != NO_SEQUENCE && s.sequence != NO_SEQUENCE) {
          if (sequence <= s.sequence) {
            return; // stale
          }
        } else if (occurredAt < s.occurredAt) {
          return; // stale
        }
        if (sequence == NO_SEQUENCE) {
          sequence = s.sequence;
        }
      }
      for (int i = 0; i < THRESHOLDS.length; i++) { // up, ascending
        if ((s.above & (1 << i)) == 0 && followers >= THRESHOLDS[i]) {
          s.above |= 1 << i;
          s.ups[i]++;
          emit(record, event, i, "up", s.ups[i], followers, previous);
        }
      }
      for (int i = THRESHOLDS.length - 1; i >= 0; i--) { // down, descending
        if ((s.above & (1 << i)) != 0 && followers * SCALE < THRESHOLDS[i] * KEEP) {
          s.above &= ~(1 << i);
          s.downs[i]++;
          emit(record, event, i, "down", s.downs[i], followers, previous);
        }
      }
      s.seen = true;
      s.followers = followers;
      s.sequence = sequence;
      s.occurredAt = occurredAt;
      store.put(key, s.write());
    }

    private void emit(
        Record<String, byte[]> record, JsonNode event, int i, String direction, long n,
        long followers, Long previous) {
      String platform = event.get("platform").asText();
      String account = event.get("account_id").asText();
      ObjectNode out = JSON.createObjectNode();
      out.put("type", "ThresholdCrossed");
      out.put("schema_version", 1);
      out.put("event_id", uuid5(
          "threshold-crossed:" + platform + "/" + account + "/" + THRESHOLDS[i] + "/" + direction
              + "/" + n));
      out.put("platform", platform);
      out.put("account_id", account);
      out.put("threshold", THRESHOLDS[i]);
      out.put("direction", direction);
      out.put("followers", followers);
      if (previous == null) {
        out.putNull("previous_followers");
      } else {
        out.put("previous_followers", previous.longValue());
      }
      out.put("occurred_at", formatUtc(event.get("occurred_at").asText()));
      out.put("source_event_id", event.get("event_id").asText());
      try {
        context.forward(record.withValue(JSON.writeValueAsBytes(out)));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  static String formatUtc(String rfc3339) {
    OffsetDateTime at = OffsetDateTime.parse(rfc3339);
    Instant instant = at.toInstant();
    String text = SECONDS.format(instant);
    int micros = instant.getNano() / 1_000;
    return micros == 0 ? text + "Z" : text + String.format(".%06dZ", micros);
  }

  static byte[] uuidBytes(String uuid) {
    String hex = uuid.replace("-", "");
    byte[] out = new byte[16];
    for (int i = 0; i < 16; i++) {
      out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }

  /** RFC 4122 version 5 (SHA-1) in the URL namespace, as Python's uuid.uuid5. */
  static String uuid5(String name) {
    MessageDigest sha1;
    try {
      sha1 = MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha1.update(NAMESPACE_URL);
    byte[] h = sha1.digest(name.getBytes(StandardCharsets.UTF_8));
    h[6] = (byte) ((h[6] & 0x0f) | 0x50);
    h[8] = (byte) ((h[8] & 0x3f) | 0x80);
    StringBuilder s = new StringBuilder(36);
    for (int i = 0; i < 16; i++) {
      if (i == 4 || i == 6 || i == 8 || i == 10) {
        s.append('-');
      }
      s.append(Character.forDigit((h[i] >> 4) & 0xf, 16)).append(Character.forDigit(h[i] & 0xf, 16));
    }
    return s.toString();
  }

  public static void main(String[] args) throws InterruptedException {
    String input = System.getenv("TOPIC_FOLLOWER_CHANGES");
    String output = System.getenv("TOPIC_THRESHOLD_CROSSINGS");
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, System.getenv("THRESHOLDS_APP_ID") + "-kstreams");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, System.getenv("KAFKA_BOOTSTRAP_SERVERS"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, System.getenv("THRESHOLDS_DATA_DIR") + "/kstreams");
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    String profile = System.getenv().getOrDefault("KS_PROFILE", "defaults");
    if (profile.equals("commit_0_5s")) {
      // our worker's commit interval (Kafka Streams' default is 30 s)
      props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 500);
    } else if (profile.equals("tuned")) {
      // what a Kafka Streams user tunes for throughput on one partition:
      // a larger record cache, so repeated writes of an account's state are
      // folded before they reach RocksDB and the changelog (default 10 MB);
      props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 64L * 1024 * 1024);
      // fuller producer batches for the crossings and the changelog (defaults 5 ms, 16 KB);
      props.put(StreamsConfig.producerPrefix("linger.ms"), 20);
      props.put(StreamsConfig.producerPrefix("batch.size"), 256 * 1024);
      // more records per poll and per fetch (defaults 1000 records, 1 MB per partition)
      props.put(StreamsConfig.consumerPrefix("max.poll.records"), 5000);
      props.put(StreamsConfig.consumerPrefix("max.partition.fetch.bytes"), 8 * 1024 * 1024);
    } else if (!profile.equals("defaults")) {
      throw new IllegalArgumentException("KS_PROFILE: defaults, commit_0_5s or tuned, not " + profile);
    }
    props.put(
        StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        LogAndContinueExceptionHandler.class);

    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(STORE), Serdes.String(), Serdes.ByteArray())
            .withCachingEnabled());
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .process(Crossings::new, STORE)
        .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      stopped.countDown();
    }));
    streams.start();
    stopped.await();
  }
}
