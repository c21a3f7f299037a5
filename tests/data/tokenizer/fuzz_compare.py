import json, random, subprocess, sys
from tokenizers import Tokenizer
seed=int(sys.argv[1]) if len(sys.argv)>1 else 1
rng=random.Random(seed)
pools=[(0x20,0x7e)]*6+[(0xa0,0x17f),(0x300,0x36f),(0x370,0x3ff),(0x400,0x4ff),(0x590,0x5ff),(0x600,0x6ff),(0x900,0x97f),(0xe00,0xe7f),
 (0x1100,0x11ff),(0xac00,0xd7a3),(0x3040,0x30ff),(0x4e00,0x9fff),(0xff00,0xffef),(0x1f300,0x1faff),(0x1f1e6,0x1f1ff),(0x2000,0x206f),
 (0xfe00,0xfe0f),(0x200b,0x200d),(0x0,0x1f),(0x7f,0x9f),(0xe000,0xe0ff),(0x10000,0x10ffff),(0x20000,0x2a6df),(0x2460,0x24ff),(0x3300,0x33ff),(0xfb00,0xfb4f),(0x1d400,0x1d7ff),(0xe0000,0xe007f)]
lines=[]
for i in range(4000):
    n=rng.randint(0,40); s=[]
    for _ in range(n):
        lo,hi=rng.choice(pools); c=rng.randint(lo,hi)
        if 0xd800<=c<=0xdfff or c==0x0a: c=0x20
        s.append(chr(c))
        if rng.random()<0.1: s.append(rng.choice([" ","  ","\t","\r","<s>","</s>","[CLS]","<extra_id_1>","\u00a0"]))
    lines.append("".join(s))
ok=True
for name in ['llama','flan-t5','bert-base-uncased']:
    path=f'/work/shared/data/tokenizers/{name}/tokenizer.json'
    t=Tokenizer.from_file(path)
    exp=[t.encode(l).ids for l in lines]
    p=subprocess.run(['/work/main/build-tok/engine/cli/instructblip-ask','--tokenize','--tokenizer',path],input="\n".join(lines).encode()+b"\n",capture_output=True)
    got=[json.loads(x)['ids'] for x in p.stdout.decode().split("\n")[:-1]]
    bad=[i for i in range(len(lines)) if i>=len(got) or got[i]!=exp[i]]
    print(name, len(lines)-len(bad), "/", len(lines), p.stderr.decode()[:200])
    for i in bad[:3]:
        print("  ", repr(lines[i])); print("   want", exp[i]); print("   got ", got[i] if i<len(got) else None)
    # decode
    dec=[t.decode(e, skip_special_tokens=True) for e in exp]
    p=subprocess.run(['/work/main/build-tok/engine/cli/instructblip-ask','--decode','--tokenizer',path],input="\n".join(json.dumps(e) for e in exp).encode()+b"\n",capture_output=True)
    gd=[]
    for x in p.stdout.decode().split("\n")[:-1]:
        try: gd.append(json.loads(x)["text"])
        except Exception as e: print("BADJSON", repr(x)); gd.append(None)
    badd=[i for i in range(len(dec)) if i>=len(gd) or gd[i]!=dec[i].replace('\x00','')]
    print(name, "decode", len(dec)-len(badd), "/", len(dec))
    for i in badd[:3]: print("   ", repr(dec[i]), repr(gd[i] if i < len(gd) else None))
