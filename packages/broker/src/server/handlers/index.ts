/** The handler table: one handler per client request kind (aedes-style). */
import type { Handler, HandlerTable } from "../node-server.ts";
import { backupClose, backupOpen, backupRead } from "./backup.ts";
import { dlqList, dlqPurge, dlqReplay, listSubscriptions, maintenance, stats } from "./admin.ts";
import { addNode, clusterStatus, ping, removeNode, transferLeader } from "./cluster.ts";
import { addKey, listKeys, removeKey } from "./keys.ts";
import { publish } from "./publish.ts";
import { sysDiagnose, sysForward, sysSet, sysStatus } from "./sys.ts";
import { ack, credit, fail, subscribe, unsubscribe } from "./subscribe.ts";
import { createTopic, deleteTopic, listTopics, topicInfo } from "./topics.ts";
import { finalizeUpgrade } from "./upgrade.ts";
import { addUser, grantUser, listUsers, removeUser, rotateUser } from "./users.ts";

/** Every request kind the node serves. */
export function brokerHandlers(): HandlerTable {
  const table = {
    publish, subscribe, unsubscribe, credit, ack, fail,
    "topic.create": createTopic, "topic.list": listTopics, "topic.info": topicInfo, "topic.delete": deleteTopic,
    "subscription.list": listSubscriptions, "dlq.list": dlqList, "dlq.replay": dlqReplay, "dlq.purge": dlqPurge,
    maintenance, stats,
    "cluster.status": clusterStatus, "cluster.add-node": addNode, "cluster.remove-node": removeNode,
    "cluster.transfer-leader": transferLeader, "cluster.finalize-upgrade": finalizeUpgrade, ping,
    "sys.status": sysStatus, "sys.set": sysSet, "sys.diagnose": sysDiagnose, "sys.forward": sysForward,
    "backup.open": backupOpen, "backup.read": backupRead, "backup.close": backupClose,
    "user.add": addUser, "user.rotate": rotateUser, "user.grant": grantUser, "user.remove": removeUser, "user.list": listUsers,
    "key.add": addKey, "key.list": listKeys, "key.remove": removeKey,
  };
  return table as unknown as Record<keyof typeof table, Handler>;
}
